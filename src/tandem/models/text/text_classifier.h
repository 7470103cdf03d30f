#pragma once
// The text classifier of issue 4: any number of labels, calibrated confidence, explanations.
//
// An ensemble of two models over the same tokens (tokenizer.h):
//   - fastText (fasttext_model.h): averaged word and word-pair embeddings, a softmax;
//   - a TF-IDF logistic regression on words and word pairs (linear_model.h).
// Their logits are mixed, z = w x z_fastText + (1 - w) x z_linear, and calibrated by one
// temperature: p = softmax(z / T). Training fits w and T on a held-out validation split
// (text_training.h), so that a confidence of 0.9 is right about 90% of the time. On the Fine
// Foods sentiment test the ensemble beats either model alone (bench/text/README.md).
//
// Explanations are exact: both models' logits are sums over the text's words and word pairs,
// so each one's share of the decision is known. A TokenWeight is that share of the calibrated
// log-odds of the predicted label against the mean of the others (for two labels: the log-odds),
// summed over the feature's occurrences; > 0 pushed toward the predicted label, < 0 against it.
//
// One loaded classifier serves any number of threads: predict() is const, takes no lock and
// allocates only its result; each thread keeps a few buffers (tokens, and one u32 per NB-LR
// feature of the largest model it has used: 140 KB for the Fine Foods model).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/datasets/text_dataset.h"
#include "tandem/models/artifact.h"
#include "tandem/models/classification_metrics.h"
#include "tandem/models/text/fasttext_model.h"
#include "tandem/models/text/linear_model.h"
#include "tandem/models/text/text_model_error.h"
#include "tandem/models/text/tokenizer.h"

namespace tandem::models::text {

inline constexpr const char* kArtifactKind = "text";
inline constexpr int kPayloadVersion = 1;

struct TokenWeight {
  std::string token;  // a word, or two adjacent words separated by a space ("not good")
  float weight = 0;   // > 0: pushed toward the predicted label
};

struct TextPrediction {
  std::uint32_t label = 0;               // index into labels()
  float confidence = 0;                  // calibrated probability of `label`
  std::vector<float> probabilities;      // calibrated, one per label, sum 1
  std::vector<TokenWeight> explanation;  // most influential first (by |weight|); empty if
                                         // explain_top == 0
};

class TextClassifier {
 public:
  // From an artifact file. Throws models::ArtifactError (missing, corrupt, another kind, newer
  // version) or TextModelError (a malformed payload), each naming the file.
  static std::shared_ptr<const TextClassifier> load(const std::string& path);
  // `name_for_errors` (a path, a task name) starts the message of any error.
  static std::shared_ptr<const TextClassifier> from_artifact(const models::Artifact& artifact,
                                                             const std::string& name_for_errors);

  // From its parts (as decoded from a payload). Throws TextModelError when they disagree
  // (label counts, a weight outside [0, 1], a temperature that is not positive).
  TextClassifier(std::vector<std::string> labels, float fasttext_weight, float temperature,
                 LinearModel linear, FastTextModel fasttext);

  const std::vector<std::string>& labels() const noexcept { return labels_; }
  float fasttext_weight() const noexcept { return fasttext_weight_; }
  float temperature() const noexcept { return temperature_; }
  const LinearModel& linear() const noexcept { return linear_; }
  const FastTextModel& fasttext() const noexcept { return fasttext_; }

  // Thread-safe. Throws TextModelError for an empty or whitespace-only text, one that is not
  // valid UTF-8, one longer than kMaxTextBytes (100,000 bytes), or one without any word (only
  // punctuation). `explain_top`: how many features to return in the explanation (0: none, and
  // the cheapest call).
  TextPrediction predict(std::string_view text, std::size_t explain_top = 5) const;

 private:
  std::vector<std::string> labels_;
  float fasttext_weight_ = 0;
  float temperature_ = 1;
  LinearModel linear_;
  FastTextModel fasttext_;
};

// Predicts every example and returns evaluate_classification's report (labels: the model's).
// Throws TextModelError when a test label is unknown to the model or an example cannot be
// classified (the message names the example).
models::ClassificationReport evaluate_text_classifier(const TextClassifier& model,
                                                      const datasets::TextDataset& test);

}  // namespace tandem::models::text
