#pragma once
// Every configured task, loaded. Tasks load at start (a missing or corrupt file, a template that
// does not compile, stops the start, naming it) and can be reloaded one by one while serving: a
// reload loads the task again (its models, prompts, router, fitted thresholds and distilled
// model) and swaps it in atomically; requests already running keep the snapshot they started
// with (they hold a shared_ptr), new ones get the new one. A reload that fails leaves the old
// snapshot serving.
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/config/config.h"
#include "tandem/tasks/loaded_task.h"

namespace tandem::tasks {

class TaskEntry {
 public:
  TaskEntry(const config::TaskConfig& config, const TaskLoadOptions& options,
            std::shared_ptr<const LoadedTask> loaded)
      : config_(config), options_(options), loaded_(std::move(loaded)) {}

  const config::TaskConfig& config() const noexcept { return config_; }
  // The snapshot serving now (never null).
  std::shared_ptr<const LoadedTask> loaded() const { return loaded_.load(); }
  std::uint64_t reloads() const noexcept { return reloads_.load(); }

  // Loads the task again and swaps it in; throws (naming the file) and keeps the old snapshot
  // when the new one does not load. Reloads of one task are serialised.
  std::shared_ptr<const LoadedTask> reload();

 private:
  const config::TaskConfig& config_;
  const TaskLoadOptions& options_;
  std::atomic<std::shared_ptr<const LoadedTask>> loaded_;
  std::atomic<std::uint64_t> reloads_{0};
  std::mutex reload_mutex_;
};

class TaskRegistry {
 public:
  // Loads every task; throws std::runtime_error with every failure, one per line.
  TaskRegistry(const std::vector<config::TaskConfig>& tasks, TaskLoadOptions options = {});

  TaskEntry* find(std::string_view name) const;
  const std::vector<std::unique_ptr<TaskEntry>>& entries() const { return entries_; }

 private:
  TaskLoadOptions options_;
  std::vector<std::unique_ptr<TaskEntry>> entries_;
  std::map<std::string, TaskEntry*, std::less<>> by_name_;
};

}  // namespace tandem::tasks
