#include "tandem/tasks/tailored_task.h"

namespace tandem::tasks {

std::shared_ptr<const TailoredTask> load_tailored_task(const config::TaskConfig& config,
                                                       const std::string& artifact_path) {
  // read_artifact checks the magic, the CRC and that the file holds the kind the config says.
  models::Artifact artifact = models::read_artifact(artifact_path, config.kind);
  if (config.kind == "text") return load_text_task(config, std::move(artifact));
  if (config.kind == "recsys") return load_recsys_task(config, std::move(artifact));
  if (config.kind == "vision") return load_vision_task(config, std::move(artifact));
  throw std::runtime_error("task " + config.name + ": unknown kind '" + config.kind + "'");
}

}  // namespace tandem::tasks
