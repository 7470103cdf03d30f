#pragma once
// Every configured task with its loaded model. Models load at start (a missing or corrupt file
// stops the start, naming the file) and can be reloaded one by one while serving: a reload reads
// the file again and swaps the model in atomically; requests already running keep the model they
// started with (they hold a shared_ptr), new ones get the new one. A reload that fails leaves the
// old model serving.
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/config/config.h"
#include "tandem/tasks/tailored_task.h"

namespace tandem::tasks {

class TaskEntry {
 public:
  TaskEntry(const config::TaskConfig& config, std::shared_ptr<const TailoredTask> model)
      : config_(config), model_(std::move(model)) {}

  const config::TaskConfig& config() const noexcept { return config_; }
  // The model serving now (never null).
  std::shared_ptr<const TailoredTask> model() const { return model_.load(); }
  std::uint64_t reloads() const noexcept { return reloads_.load(); }

  // Loads the artifact again and swaps it in; throws (naming the file) and keeps the old model
  // when the new one does not load. Reloads of one task are serialised.
  std::shared_ptr<const TailoredTask> reload();

 private:
  const config::TaskConfig& config_;
  std::atomic<std::shared_ptr<const TailoredTask>> model_;
  std::atomic<std::uint64_t> reloads_{0};
  std::mutex reload_mutex_;
};

class TaskRegistry {
 public:
  // Loads every task's model; throws std::runtime_error with every failure, one per line.
  explicit TaskRegistry(const std::vector<config::TaskConfig>& tasks);

  TaskEntry* find(std::string_view name) const;
  const std::vector<std::unique_ptr<TaskEntry>>& entries() const { return entries_; }

 private:
  std::vector<std::unique_ptr<TaskEntry>> entries_;
  std::map<std::string, TaskEntry*, std::less<>> by_name_;
};

}  // namespace tandem::tasks
