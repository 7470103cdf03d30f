// The text classifier as a task: text in, the label with its calibrated confidence, every
// label's probability and the tokens that pushed the decision out.
#include "tandem/models/text/text_classifier.h"
#include "tandem/models/text/text_model_error.h"
#include "tandem/tasks/tailored_task.h"

namespace tandem::tasks {

namespace json = boost::json;
namespace text = models::text;

namespace {

class TextTask final : public TailoredTask {
 public:
  TextTask(models::ArtifactMeta meta, std::shared_ptr<const text::TextClassifier> model)
      : TailoredTask(std::move(meta)), model_(std::move(model)) {}

  TaskAnswer run(const TaskInput& input) const override {
    const auto& in = std::get<TextInput>(input);
    text::TextPrediction p;
    try {
      p = model_->predict(in.text, static_cast<std::size_t>(in.explain));
    } catch (const text::TextModelError& e) {
      throw TaskInputError(std::string("input: ") + e.what(), "input");
    }
    const auto& labels = model_->labels();
    json::object probabilities;
    for (std::size_t i = 0; i < labels.size() && i < p.probabilities.size(); ++i) {
      probabilities[labels[i]] = p.probabilities[i];
    }
    json::array explanation;
    for (const auto& t : p.explanation) {
      explanation.push_back(json::object{{"token", t.token}, {"weight", t.weight}});
    }
    TaskAnswer answer;
    answer.confidence = p.confidence;
    answer.output = json::object{{"label", labels.at(p.label)},
                                 {"confidence", p.confidence},
                                 {"probabilities", std::move(probabilities)},
                                 {"explanation", std::move(explanation)}};
    return answer;
  }

  json::object describe() const override {
    json::array labels;
    for (const auto& l : model_->labels()) labels.push_back(json::string(l));
    return json::object{{"labels", std::move(labels)}};
  }

 private:
  std::shared_ptr<const text::TextClassifier> model_;
};

}  // namespace

std::shared_ptr<const TailoredTask> load_text_task(const config::TaskConfig& config,
                                                   models::Artifact artifact) {
  models::ArtifactMeta meta = artifact.meta;
  auto model = text::TextClassifier::from_artifact(artifact, config.model);
  return std::make_shared<TextTask>(std::move(meta), std::move(model));
}

}  // namespace tandem::tasks
