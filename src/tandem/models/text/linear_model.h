#pragma once
// The linear half of the text ensemble: logistic regression on word unigrams and bigrams,
// L2-regularised and fitted to convergence by L-BFGS. Its errors differ from fastText's (exact
// sparse word-pair weights against dense averaged embeddings), which is why the ensemble beats
// both (bench/text/README.md).
//
// Features of a text: every word and every pair of adjacent words of its tokens (tokenizer.h)
// that occurred in at least `min_df` training texts. Two ways to weigh them:
//   kNaiveBayes (default)  NB-LR, Wang and Manning (2012)'s NBSVM with a logistic loss: a
//       feature is 1 if present, scaled per label by its naive-Bayes log-count ratio
//       r = ln((1 + count in the label's texts) / |.|_1) - ln((1 + count elsewhere) / |.|_1);
//       one binary model per label against the rest (one in all for two labels), and the model
//       keeps r x w, so that a logit is b + sum of the present features' weights. Best in
//       5-fold cross-validation on the Fine Foods training file (0.819 in the ensemble, against
//       0.813 with TF-IDF; bench/text/README.md).
//   kTfIdf  (1 + ln count) x idf, idf = ln((1 + N) / (1 + df)) + 1, the vector scaled to unit
//       length (sklearn's TfidfVectorizer(sublinear_tf=True)); one multinomial model.
//
// Training is full-batch and deterministic: the same texts give a bit-identical model, on any
// number of threads (it runs on one). Queries are const and thread-safe.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/models/text/text_features.h"
#include "tandem/models/text/tokenizer.h"

namespace tandem::models::text {

// How a text becomes a feature vector.
enum class LinearFeatures : std::uint32_t {
  kTfIdf = 0,       // (1 + ln count) x idf, unit length; one multinomial model
  kNaiveBayes = 1,  // NB-LR: presence (0 or 1) scaled by each label's NB log-count ratio
};

struct LinearOptions {
  LinearFeatures features = LinearFeatures::kNaiveBayes;
  double l2 = 3e-3;  // lambda of (lambda / 2) |W|^2 added to the mean log-loss (by CV)
  // Features in fewer training texts are dropped: 2 keeps a third of them, as accurate in
  // cross-validation (0.806 alone against 0.802 with 1) and faster (smaller tables).
  std::uint32_t min_df = 2;
  int max_iterations = 400;  // L-BFGS iterations (it stops earlier once converged)
};

// Called after each L-BFGS iteration with (iteration, max_iterations, training objective).
using LinearProgressFn = std::function<void(int, int, double)>;

class LinearModel {
 public:
  LinearModel() = default;

  // `labels[i]` (< classes) is the label of `texts[i]`. Throws TextModelError on mismatched
  // sizes, no texts, fewer than two classes or a label out of range.
  static LinearModel train(std::span<const Tokens> texts, std::span<const std::uint32_t> labels,
                           std::size_t classes, const LinearOptions& options,
                           const LinearProgressFn& progress = {});

  std::size_t classes() const noexcept { return classes_; }
  std::size_t features() const noexcept { return keys_.size(); }

  // out (classes() values) = the logits of `tokens`.
  void logits(const Tokens& tokens, std::span<float> out) const;

  // Appends one FeatureWeight per distinct known feature of `tokens`: its contribution to
  // logit[label] minus the mean of the other logits.
  void explain(const Tokens& tokens, std::uint32_t label, std::vector<FeatureWeight>& out) const;

  // The model's bytes (layout in linear_model.cpp) and back; decode throws TextModelError naming
  // the byte offset and field of the first problem.
  std::string encode() const;
  static LinearModel decode(std::string_view bytes);

 private:
  struct Found {
    std::uint32_t feature;   // row of keys_
    std::uint32_t position;  // of the first occurrence in the tokens
    bool pair;
  };
  // The known features of `tokens`, each once, with its TF-IDF value (unit vector).
  void features_of(const Tokens& tokens, std::vector<Found>& found,
                   std::vector<float>& values) const;
  void build_index();
  std::int64_t find(std::uint64_t key) const noexcept;

  std::size_t classes_ = 0;
  LinearFeatures mode_ = LinearFeatures::kTfIdf;
  std::vector<std::uint64_t> keys_;  // strictly increasing
  std::vector<float> idf_;           // per feature
  std::vector<float> weights_;       // features x classes, row-major
  std::vector<float> bias_;          // classes
  struct Slot {
    std::uint64_t key = 0;
    std::uint32_t row = 0;  // + 1; 0 = empty
  };
  std::vector<Slot> slots_;  // open addressing over keys_ (the key inside: one cache miss)
};

}  // namespace tandem::models::text
