#include "tandem/models/text/text_classifier.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "tandem/models/calibration.h"
#include "tandem/models/text/text_payload.h"

namespace tandem::models::text {
namespace {

// Per-thread scratch space, so that a prediction allocates only its result.
struct Scratch {
  Tokens tokens;
  std::vector<float> linear, fasttext, mixed;
  std::vector<FeatureWeight> linear_weights, fasttext_weights;
};

Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

}  // namespace

TextClassifier::TextClassifier(std::vector<std::string> labels, float fasttext_weight,
                               float temperature, LinearModel linear, FastTextModel fasttext)
    : labels_(std::move(labels)),
      fasttext_weight_(fasttext_weight),
      temperature_(temperature),
      linear_(std::move(linear)),
      fasttext_(std::move(fasttext)) {
  if (labels_.size() < 2) throw TextModelError("text classifier: fewer than two labels");
  if (linear_.classes() != labels_.size() || fasttext_.classes() != labels_.size()) {
    throw TextModelError("text classifier: " + std::to_string(labels_.size()) +
                         " labels but the linear model has " + std::to_string(linear_.classes()) +
                         " outputs and fastText " + std::to_string(fasttext_.classes()));
  }
  if (!(fasttext_weight_ >= 0 && fasttext_weight_ <= 1)) {
    throw TextModelError("text classifier: the fastText weight is not in [0, 1]");
  }
  if (!(temperature_ > 0) || !std::isfinite(temperature_)) {
    throw TextModelError("text classifier: the temperature is not a positive number");
  }
}

std::shared_ptr<const TextClassifier> TextClassifier::from_artifact(
    const models::Artifact& artifact, const std::string& name_for_errors) {
  if (artifact.meta.kind != kArtifactKind) {
    throw TextModelError(name_for_errors + ": the model is of kind '" + artifact.meta.kind +
                         "', expected 'text'");
  }
  if (artifact.meta.version != kPayloadVersion) {
    throw TextModelError(name_for_errors + ": payload version " +
                         std::to_string(artifact.meta.version) + " (this code reads " +
                         std::to_string(kPayloadVersion) + ")");
  }
  try {
    TextPayload p = decode_payload(artifact.payload);
    const std::size_t classes = p.labels.size();
    LinearModel linear = LinearModel::decode(p.linear);
    FastTextModel fasttext = FastTextModel::decode(p.fasttext, classes);
    return std::make_shared<const TextClassifier>(std::move(p.labels), p.fasttext_weight,
                                                  p.temperature, std::move(linear),
                                                  std::move(fasttext));
  } catch (const TextModelError& e) {
    throw TextModelError(name_for_errors + ": " + e.what());
  }
}

std::shared_ptr<const TextClassifier> TextClassifier::load(const std::string& path) {
  return from_artifact(models::read_artifact(path, kArtifactKind, kPayloadVersion), path);
}

TextPrediction TextClassifier::predict(std::string_view text, std::size_t explain_top) const {
  check_text(text);
  Scratch& s = scratch();
  tokenize(text, s.tokens);
  if (s.tokens.empty()) {
    throw TextModelError("text has no words to classify (only punctuation or symbols)");
  }
  const std::size_t k = labels_.size();
  s.linear.resize(k);
  s.fasttext.resize(k);
  s.mixed.resize(k);
  linear_.logits(s.tokens, s.linear);
  fasttext_.logits(s.tokens, s.fasttext);
  for (std::size_t c = 0; c < k; ++c) {
    s.mixed[c] = fasttext_weight_ * s.fasttext[c] + (1 - fasttext_weight_) * s.linear[c];
  }
  TextPrediction out;
  out.probabilities.resize(k);
  models::softmax(s.mixed, temperature_, out.probabilities);
  out.label = static_cast<std::uint32_t>(
      std::max_element(out.probabilities.begin(), out.probabilities.end()) -
      out.probabilities.begin());
  out.confidence = out.probabilities[out.label];
  if (explain_top == 0) return out;

  s.linear_weights.clear();
  s.fasttext_weights.clear();
  linear_.explain(s.tokens, out.label, s.linear_weights);
  fasttext_.explain(s.tokens, out.label, s.fasttext_weights);
  std::vector<FeatureWeight>& all = s.linear_weights;
  for (FeatureWeight& f : all) f.weight *= (1 - fasttext_weight_) / temperature_;
  for (FeatureWeight f : s.fasttext_weights) {
    f.weight *= fasttext_weight_ / temperature_;
    all.push_back(f);
  }
  // One entry per feature: occurrences summed, named after the first.
  std::sort(all.begin(), all.end(), [](const FeatureWeight& a, const FeatureWeight& b) {
    return a.key != b.key ? a.key < b.key : a.position < b.position;
  });
  std::size_t merged = 0;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (merged > 0 && all[merged - 1].key == all[i].key) {
      all[merged - 1].weight += all[i].weight;
    } else {
      all[merged++] = all[i];
    }
  }
  all.resize(merged);
  const std::size_t top = std::min(explain_top, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(top), all.end(),
                    [](const FeatureWeight& a, const FeatureWeight& b) {
                      const float wa = std::abs(a.weight), wb = std::abs(b.weight);
                      if (wa != wb) return wa > wb;
                      return a.position != b.position ? a.position < b.position : !a.pair;
                    });
  out.explanation.reserve(top);
  for (std::size_t i = 0; i < top; ++i) {
    TokenWeight t;
    t.token = std::string(s.tokens[all[i].position]);
    if (all[i].pair) {
      t.token.push_back(' ');
      t.token.append(s.tokens[all[i].position + 1]);
    }
    t.weight = all[i].weight;
    out.explanation.push_back(std::move(t));
  }
  return out;
}

models::ClassificationReport evaluate_text_classifier(const TextClassifier& model,
                                                      const datasets::TextDataset& test) {
  // The test file's label numbering (sorted labels of that file) to the model's.
  std::unordered_map<std::string, std::uint32_t> index;
  for (std::size_t i = 0; i < model.labels().size(); ++i) {
    index.emplace(model.labels()[i], static_cast<std::uint32_t>(i));
  }
  std::vector<std::uint32_t> to_model(test.labels.size());
  for (std::size_t i = 0; i < test.labels.size(); ++i) {
    const auto it = index.find(test.labels[i]);
    if (it == index.end()) {
      throw TextModelError("evaluation: the test label '" + test.labels[i] +
                           "' is not one the model knows");
    }
    to_model[i] = it->second;
  }
  std::vector<std::uint32_t> truth, predicted;
  std::vector<float> confidence;
  truth.reserve(test.examples.size());
  predicted.reserve(test.examples.size());
  confidence.reserve(test.examples.size());
  for (std::size_t i = 0; i < test.examples.size(); ++i) {
    const datasets::TextExample& e = test.examples[i];
    if (e.label >= to_model.size()) {
      throw TextModelError("evaluation: example " + std::to_string(i) + " has no valid label");
    }
    try {
      const TextPrediction p = model.predict(e.text, 0);
      truth.push_back(to_model[e.label]);
      predicted.push_back(p.label);
      confidence.push_back(p.confidence);
    } catch (const TextModelError& error) {
      throw TextModelError("evaluation: example " + std::to_string(i) + ": " + error.what());
    }
  }
  if (truth.empty()) throw TextModelError("evaluation: the test set has no examples");
  return models::evaluate_classification(model.labels(), truth, predicted, confidence);
}

}  // namespace tandem::models::text
