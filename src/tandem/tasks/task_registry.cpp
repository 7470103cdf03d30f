#include "tandem/tasks/task_registry.h"

#include <stdexcept>

namespace tandem::tasks {

std::shared_ptr<const LoadedTask> TaskEntry::reload() {
  std::lock_guard lock(reload_mutex_);
  std::shared_ptr<const LoadedTask> fresh = LoadedTask::load(config_, options_);
  loaded_.store(fresh);
  reloads_.fetch_add(1);
  return fresh;
}

TaskRegistry::TaskRegistry(const std::vector<config::TaskConfig>& tasks, TaskLoadOptions options)
    : options_(std::move(options)) {
  std::string failures;
  for (const auto& t : tasks) {
    try {
      entries_.push_back(std::make_unique<TaskEntry>(t, options_, LoadedTask::load(t, options_)));
      by_name_.emplace(t.name, entries_.back().get());
    } catch (const std::exception& e) {
      failures +=
          (failures.empty() ? "" : "\n") + std::string("task '") + t.name + "': " + e.what();
    }
  }
  if (!failures.empty()) throw std::runtime_error(failures);
}

TaskEntry* TaskRegistry::find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

}  // namespace tandem::tasks
