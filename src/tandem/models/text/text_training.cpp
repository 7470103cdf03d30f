#include "tandem/models/text/text_training.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <future>
#include <map>
#include <sstream>

#include "tandem/datasets/text_dataset.h"
#include "tandem/models/calibration.h"
#include "tandem/models/classification_metrics.h"
#include "tandem/models/text/text_classifier.h"
#include "tandem/models/text/text_payload.h"
#include "tandem/models/text/tokenizer.h"

namespace tandem::models::text {
namespace {

constexpr std::size_t kMinExamples = 10;
constexpr int kWeightSteps = 20;  // w in {0, 1/20, ..., 1}

// SplitMix64 (Steele, Lea, Flood 2014) and Fisher-Yates: the split depends on the seed only,
// not on the standard library's distributions.
class Random {
 public:
  explicit Random(std::uint64_t seed) noexcept : state_(seed) {}
  std::uint64_t next() noexcept {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  std::uint64_t below(std::uint64_t bound) noexcept {
    const std::uint64_t threshold = (0 - bound) % bound;
    std::uint64_t r = next();
    while (r < threshold) r = next();
    return r % bound;
  }
  template <typename T>
  void shuffle(std::vector<T>& v) noexcept {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
  }

 private:
  std::uint64_t state_;
};

struct Split {
  std::vector<std::size_t> train, validation;  // example indices, in file order
};

// validation_fraction of each label, at least one and never all of it.
Split stratified_split(const datasets::TextDataset& data, double fraction, std::uint64_t seed) {
  Random random(seed);
  std::vector<std::vector<std::size_t>> by_label(data.labels.size());
  for (std::size_t i = 0; i < data.examples.size(); ++i) {
    by_label[data.examples[i].label].push_back(i);
  }
  std::vector<bool> in_validation(data.examples.size(), false);
  for (std::vector<std::size_t>& indices : by_label) {
    random.shuffle(indices);
    const auto wanted =
        static_cast<std::size_t>(std::llround(fraction * static_cast<double>(indices.size())));
    const std::size_t take = std::clamp<std::size_t>(wanted, 1, indices.size() - 1);
    for (std::size_t j = 0; j < take; ++j) in_validation[indices[j]] = true;
  }
  Split split;
  for (std::size_t i = 0; i < data.examples.size(); ++i) {
    (in_validation[i] ? split.validation : split.train).push_back(i);
  }
  return split;
}

std::string number(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

std::map<std::string, std::string> to_params(const TextTrainOptions& o) {
  return {
      {"train_csv", o.train_csv.string()},
      {"word_vectors", o.word_vectors.string()},
      {"validation_fraction", number(o.validation_fraction)},
      {"seed", std::to_string(o.seed)},
      {"threads", std::to_string(o.threads)},
      {"refit", o.refit ? "true" : "false"},
      {"linear.features", std::to_string(static_cast<int>(o.linear.features))},
      {"linear.l2", number(o.linear.l2)},
      {"linear.min_df", std::to_string(o.linear.min_df)},
      {"linear.max_iterations", std::to_string(o.linear.max_iterations)},
      {"fasttext.dim", std::to_string(o.fasttext.dim)},
      {"fasttext.epochs", std::to_string(o.fasttext.epochs)},
      {"fasttext.lr", number(o.fasttext.lr)},
      {"fasttext.word_ngrams", std::to_string(o.fasttext.word_ngrams)},
      {"fasttext.bucket", std::to_string(o.fasttext.bucket)},
      {"fasttext.min_count", std::to_string(o.fasttext.min_count)},
  };
}

void report(const ProgressFn& progress, std::string phase, std::size_t done, std::size_t total,
            std::string detail = {}) {
  if (progress) progress(TrainProgress{std::move(phase), done, total, std::move(detail)});
}

double accuracy_of(std::span<const float> logits, std::size_t k,
                   std::span<const std::uint32_t> truth) {
  std::size_t right = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    const auto row = logits.subspan(i * k, k);
    const auto best =
        static_cast<std::uint32_t>(std::max_element(row.begin(), row.end()) - row.begin());
    right += best == truth[i] ? 1 : 0;
  }
  return static_cast<double>(right) / static_cast<double>(truth.size());
}

}  // namespace

void TextTrainOptions::validate() const {
  const auto fail = [](const std::string& what) { throw TextModelError("text training: " + what); };
  if (train_csv.empty()) fail("no training file (train_csv) given");
  if (!(validation_fraction > 0 && validation_fraction <= 0.5)) {
    fail("validation_fraction must be above 0 and at most 0.5");
  }
  if (threads < 1 || threads > 256) fail("threads must be 1 to 256");
  if (!(linear.l2 > 0) || !std::isfinite(linear.l2)) fail("linear.l2 must be a positive number");
  if (linear.min_df < 1) fail("linear.min_df must be >= 1");
  if (linear.max_iterations < 1 || linear.max_iterations > 100'000) {
    fail("linear.max_iterations must be 1 to 100,000");
  }
  if (fasttext.dim < 1 || fasttext.dim > 1024) fail("fasttext.dim must be 1 to 1024");
  if (fasttext.epochs < 1 || fasttext.epochs > 10'000) fail("fasttext.epochs must be 1 to 10,000");
  if (!(fasttext.lr > 0 && fasttext.lr <= 10)) fail("fasttext.lr must be above 0 and at most 10");
  if (fasttext.word_ngrams < 1 || fasttext.word_ngrams > 2)
    fail("fasttext.word_ngrams must be 1 or 2");
  if (fasttext.bucket < 1 || fasttext.bucket > 10'000'000) {
    fail("fasttext.bucket must be 1 to 10,000,000");
  }
  if (fasttext.min_count < 1) fail("fasttext.min_count must be >= 1");
}

models::Artifact train_text_classifier(const TextTrainOptions& options,
                                       const ProgressFn& progress) {
  options.validate();
  report(progress, "reading " + options.train_csv.filename().string(), 0, 0);
  datasets::TextDataset data;
  try {
    data = datasets::load_text_csv(options.train_csv);
  } catch (const std::exception& e) {
    throw TextModelError(std::string("text training: ") + e.what());
  }
  const std::string where = "text training: " + options.train_csv.string() + ": ";
  if (data.labels.size() < 2) {
    throw TextModelError(where + "only one label ('" +
                         (data.labels.empty() ? std::string() : data.labels[0]) +
                         "'): a classifier needs at least two");
  }
  if (data.examples.size() < kMinExamples) {
    throw TextModelError(where + std::to_string(data.examples.size()) + " examples; at least " +
                         std::to_string(kMinExamples) + " are needed");
  }
  for (const std::string& label : data.labels) {
    if (data.count(label) < 2) {
      throw TextModelError(where + "the label '" + label +
                           "' has one example; each needs at least two (training and "
                           "validation)");
    }
  }
  const std::size_t k = data.labels.size();

  report(progress, "tokenising", 0, data.examples.size());
  std::vector<Tokens> tokens(data.examples.size());
  for (std::size_t i = 0; i < data.examples.size(); ++i) tokenize(data.examples[i].text, tokens[i]);
  report(progress, "tokenising", data.examples.size(), data.examples.size());

  const Split split = stratified_split(data, options.validation_fraction, options.seed);
  std::vector<Tokens> train_texts, validation_texts;
  std::vector<std::uint32_t> train_labels, validation_labels;
  for (std::size_t i : split.train) {
    train_texts.push_back(tokens[i]);
    train_labels.push_back(data.examples[i].label);
  }
  for (std::size_t i : split.validation) {
    validation_texts.push_back(tokens[i]);
    validation_labels.push_back(data.examples[i].label);
  }

  FastTextOptions fasttext_options = options.fasttext;
  fasttext_options.word_vectors = options.word_vectors;
  constexpr std::size_t kPermille = 1000;
  const auto train_fasttext = [&](const FastTextProgressFn& fasttext_progress) {
    return FastTextModel::train(train_texts, train_labels, k, fasttext_options, options.seed,
                                fasttext_progress);
  };
  const LinearProgressFn linear_progress = [&](int iteration, int max_iterations, double loss) {
    report(progress, "linear model (L-BFGS)", static_cast<std::size_t>(iteration),
           static_cast<std::size_t>(max_iterations), "objective " + number(loss));
  };
  LinearModel linear;
  std::string fasttext_bytes;
  if (options.threads >= 2) {
    // fastText on a second thread; progress is only ever reported from this one.
    std::atomic<double> fasttext_done{0};
    auto pending = std::async(std::launch::async, [&] {
      return train_fasttext([&](double done, double) { fasttext_done = done; });
    });
    try {
      linear = LinearModel::train(train_texts, train_labels, k, options.linear, linear_progress);
    } catch (...) {
      pending.wait();
      throw;
    }
    while (pending.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) {
      report(progress, "fastText", static_cast<std::size_t>(fasttext_done * kPermille), kPermille);
    }
    fasttext_bytes = pending.get();
  } else {
    linear = LinearModel::train(train_texts, train_labels, k, options.linear, linear_progress);
    fasttext_bytes = train_fasttext([&](double done, double loss) {
      report(progress, "fastText", static_cast<std::size_t>(done * kPermille), kPermille,
             "loss " + number(loss));
    });
  }
  report(progress, "fastText", kPermille, kPermille);
  // Through the decoder, so that validation scores the model exactly as it will be served.
  const FastTextModel fasttext = FastTextModel::decode(fasttext_bytes, k);

  report(progress, "fitting ensemble weight and temperature", 0, kWeightSteps + 1);
  const std::size_t n = validation_texts.size();
  std::vector<float> linear_logits(n * k), fasttext_logits(n * k), mixed(n * k);
  for (std::size_t i = 0; i < n; ++i) {
    linear.logits(validation_texts[i], std::span<float>(linear_logits).subspan(i * k, k));
    fasttext.logits(validation_texts[i], std::span<float>(fasttext_logits).subspan(i * k, k));
  }
  double best_nll = std::numeric_limits<double>::infinity();
  float best_weight = 0;
  double best_temperature = 1;
  for (int step = 0; step <= kWeightSteps; ++step) {
    const float w = static_cast<float>(step) / kWeightSteps;
    for (std::size_t j = 0; j < mixed.size(); ++j) {
      mixed[j] = w * fasttext_logits[j] + (1 - w) * linear_logits[j];
    }
    const double t = models::fit_temperature(mixed, k, validation_labels);
    const double nll = models::mean_nll(mixed, k, validation_labels, t);
    if (nll < best_nll) {
      best_nll = nll;
      best_weight = w;
      best_temperature = t;
    }
    report(progress, "fitting ensemble weight and temperature", static_cast<std::size_t>(step + 1),
           kWeightSteps + 1);
  }
  const auto temperature = static_cast<float>(best_temperature);
  if (options.refit) {
    train_texts = tokens;
    train_labels.clear();
    for (const auto& e : data.examples) train_labels.push_back(e.label);
    linear = LinearModel::train(train_texts, train_labels, k, options.linear, linear_progress);
    fasttext_bytes = train_fasttext({});
  }

  // Validation figures of the calibrated ensemble.
  std::vector<std::uint32_t> predicted(n);
  std::vector<float> confidence(n), probabilities(k);
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<float> row(k);
    for (std::size_t c = 0; c < k; ++c) {
      row[c] =
          best_weight * fasttext_logits[i * k + c] + (1 - best_weight) * linear_logits[i * k + c];
    }
    models::softmax(row, temperature, probabilities);
    predicted[i] = static_cast<std::uint32_t>(
        std::max_element(probabilities.begin(), probabilities.end()) - probabilities.begin());
    confidence[i] = probabilities[predicted[i]];
  }
  const models::ClassificationReport validation =
      models::evaluate_classification(data.labels, validation_labels, predicted, confidence);

  TextPayload payload;
  payload.labels = data.labels;
  payload.fasttext_weight = best_weight;
  payload.temperature = temperature;
  payload.linear = linear.encode();
  payload.fasttext = std::move(fasttext_bytes);

  models::Artifact artifact;
  artifact.meta.kind = kArtifactKind;
  artifact.meta.version = kPayloadVersion;
  artifact.meta.data_sha256 =
      options.word_vectors.empty()
          ? models::sha256_file(options.train_csv.string())
          : models::sha256_files({options.train_csv.string(), options.word_vectors.string()});
  artifact.meta.metrics = {
      {"validation_accuracy", validation.accuracy},
      {"validation_macro_f1", validation.macro_f1},
      {"validation_ece", validation.ece},
      {"validation_nll", best_nll},
      {"validation_accuracy_linear", accuracy_of(linear_logits, k, validation_labels)},
      {"validation_accuracy_fasttext", accuracy_of(fasttext_logits, k, validation_labels)},
      {"temperature", best_temperature},
      {"fasttext_weight", best_weight},
      {"train_examples", static_cast<double>(train_texts.size())},
      {"refit", options.refit ? 1.0 : 0.0},
      {"validation_examples", static_cast<double>(n)},
      {"labels", static_cast<double>(k)},
      {"linear_features", static_cast<double>(linear.features())},
      {"fasttext_words", static_cast<double>(fasttext.words())},
  };
  artifact.meta.params = to_params(options);
  artifact.payload = encode_payload(payload);
  return artifact;
}

}  // namespace tandem::models::text
