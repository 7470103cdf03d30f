#pragma once
// A task served by a tailored model: the artifact loaded once, then run by the worker pool for
// each request. One subclass per model kind (text_task, recsys_task, vision_task) turns the
// typed input into the model's call and its answer into JSON.
#include <boost/json.hpp>
#include <memory>
#include <optional>
#include <stdexcept>

#include "tandem/config/config.h"
#include "tandem/models/artifact.h"
#include "tandem/tasks/task_input.h"

namespace tandem::tasks {

// Input that only the model can find wrong (an image that does not decode, an unknown user with
// no fallback): the client's fault, a 400 with this message.
class TaskInputError : public std::runtime_error {
 public:
  TaskInputError(std::string message, std::string param, std::string code = "invalid_input")
      : std::runtime_error(std::move(message)), param_(std::move(param)), code_(std::move(code)) {}
  const std::string& param() const noexcept { return param_; }
  const std::string& code() const noexcept { return code_; }

 private:
  std::string param_;
  std::string code_;
};

struct TaskAnswer {
  boost::json::object output;
  std::optional<double> confidence;  // the calibrated probability of the answer, for classifiers
};

class TailoredTask {
 public:
  explicit TailoredTask(models::ArtifactMeta meta) : meta_(std::move(meta)) {}
  virtual ~TailoredTask() = default;

  // Thread-safe: many workers run one task at once. Throws TaskInputError for bad input; any
  // other exception is a server error.
  virtual TaskAnswer run(const TaskInput& input) const = 0;
  // What GET /v1/tasks shows beside the metadata: labels, users and items, ...
  virtual boost::json::object describe() const = 0;

  const models::ArtifactMeta& meta() const noexcept { return meta_; }

 private:
  models::ArtifactMeta meta_;
};

// Reads a tailored variant's artifact (of the task's kind) and builds its model, with the task's
// serving settings. Throws std::runtime_error (ArtifactError or the model library's error) whose
// message names the file: a start or a reload fails with it.
std::shared_ptr<const TailoredTask> load_tailored_task(const config::TaskConfig& config,
                                                       const std::string& artifact_path);

// One loader per kind (each in its own file, next to its adapter).
std::shared_ptr<const TailoredTask> load_text_task(const config::TaskConfig& config,
                                                   models::Artifact artifact);
std::shared_ptr<const TailoredTask> load_recsys_task(const config::TaskConfig& config,
                                                     models::Artifact artifact);
std::shared_ptr<const TailoredTask> load_vision_task(const config::TaskConfig& config,
                                                     models::Artifact artifact);

}  // namespace tandem::tasks
