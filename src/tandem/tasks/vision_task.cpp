// The CNN image classifier as a task: an encoded PNG/JPEG or raw pixels in, the top-k labels
// with calibrated probabilities out.
#include "tandem/models/vision/blas_threads.h"
#include "tandem/models/vision/image_classifier.h"
#include "tandem/models/vision/image_decoding.h"
#include "tandem/models/vision/vision_error.h"
#include "tandem/tasks/tailored_task.h"

namespace tandem::tasks {

namespace json = boost::json;
namespace vision = models::vision;

namespace {

class VisionTask final : public TailoredTask {
 public:
  VisionTask(models::ArtifactMeta meta, std::shared_ptr<const vision::ImageClassifier> model)
      : TailoredTask(std::move(meta)), model_(std::move(model)) {}

  TaskAnswer run(const TaskInput& input) const override {
    const auto& in = std::get<ImageInput>(input);
    vision::GreyImage image;
    // Decoding happens here, on a worker: it is the expensive, attacker-controlled part.
    try {
      image = in.encoded.empty() ? vision::image_from_pixels(in.pixels)
                                 : vision::decode_image(in.encoded);
    } catch (const vision::VisionError& e) {
      std::string param = in.encoded.empty() ? "input.pixels" : "input.image";
      throw TaskInputError(param + ": " + e.what(), param, "invalid_image");
    }
    auto scores = model_->classify(image, static_cast<std::size_t>(in.top_k));
    json::array labels;
    for (const auto& s : scores) {
      labels.push_back(
          json::object{{"label", model_->labels().at(s.label)}, {"probability", s.probability}});
    }
    TaskAnswer answer;
    if (!scores.empty()) answer.confidence = scores.front().probability;
    answer.output =
        json::object{{"label", scores.empty() ? "" : model_->labels().at(scores.front().label)},
                     {"labels", std::move(labels)}};
    return answer;
  }

  json::object describe() const override {
    json::array labels;
    for (const auto& l : model_->labels()) labels.push_back(json::string(l));
    return json::object{{"labels", std::move(labels)},
                        {"temperature", model_->temperature()},
                        {"image", "28 x 28 grey"}};
  }

 private:
  std::shared_ptr<const vision::ImageClassifier> model_;
};

}  // namespace

std::shared_ptr<const TailoredTask> load_vision_task(const config::TaskConfig& config,
                                                     models::Artifact artifact) {
  models::ArtifactMeta meta = artifact.meta;
  auto model = vision::ImageClassifier::from_artifact(artifact, config.model);
  // Each worker runs one image's small products; OpenBLAS splitting each over its own thread
  // pool only makes them queue for it (blas_threads.h). The workers are the parallelism.
  vision::set_blas_threads(1);
  return std::make_shared<VisionTask>(std::move(meta), std::move(model));
}

}  // namespace tandem::tasks
