#pragma once
// The fastText half of the text ensemble (Joulin et al., 2016, "Bag of Tricks"): word and word-
// pair embeddings averaged into a hidden vector, a softmax over the labels.
//
// Training runs libfasttext itself (supervised, softmax loss) on the tokenised texts through a
// temporary file, and keeps fastText's own model file bytes: the artifact embeds them unchanged,
// so `fasttext predict` can be run on them for a second opinion.
//
// Inference does not call libfasttext. FastText::predict builds its per-call state on every call
// and reads the text through an istream; instead, decode() reads the model bytes (checking every
// size against the bytes first, so a corrupt file is an error, never a huge allocation or a read
// past the end) and folds the output layer into the input rows: a fastText logit is
// (1/n) sum_i out . in[id_i], which is (1/n) sum_i P[id_i] with P = in x out^T, one row of
// `classes` floats per word or hash bucket. A prediction is then n table lookups: lock-free,
// allocation-light, and each word's and word pair's share of the decision is exact. The words
// and hash buckets are fastText's (Dictionary::getLine: FNV-1a hash of the token, word pairs
// hashed into `bucket` rows, the end-of-line token "</s>" last); the tests check the logits
// against libfasttext's own predictions.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/models/text/text_features.h"
#include "tandem/models/text/tokenizer.h"

namespace tandem::models::text {

struct FastTextOptions {
  int dim = 50;  // embedding size (ignored with word vectors: theirs is used)
  int epochs = 10;
  double lr = 0.2;
  int word_ngrams = 2;   // 1 (words) or 2 (words and adjacent pairs): explanations name both
  int bucket = 100'000;  // hash rows for word pairs; the model is (words + bucket) x dim floats
  int min_count = 1;     // words seen fewer times are dropped
  // Optional pretrained vectors (datasets/word_vectors.h, GloVe): the training words found there
  // start from them instead of random values.
  std::filesystem::path word_vectors;
};

// Called from the training thread with fastText's progress (0 to 1) and its running loss.
using FastTextProgressFn = std::function<void(double, double)>;

class FastTextModel {
 public:
  FastTextModel() = default;

  // Trains on one thread (fastText's multi-threaded training is Hogwild!, so not reproducible)
  // with `seed`, and returns fastText's model file bytes. Throws TextModelError on bad options
  // or when fastText refuses the data.
  static std::string train(std::span<const Tokens> texts, std::span<const std::uint32_t> labels,
                           std::size_t classes, const FastTextOptions& options, std::uint64_t seed,
                           const FastTextProgressFn& progress = {});

  // Reads fastText 0.9.2 model bytes of a supervised softmax model without character n-grams
  // whose labels are "__label__0" .. "__label__{classes-1}" (as train writes them). Throws
  // TextModelError naming the byte offset and field of the first problem.
  static FastTextModel decode(std::string_view bytes, std::size_t classes);

  std::size_t classes() const noexcept { return classes_; }
  std::size_t words() const noexcept { return word_ends_.size(); }
  int dim() const noexcept { return dim_; }

  // out (classes() values) = fastText's logits for `tokens` (its probabilities are their
  // softmax). All zero when no token is known and there are no word pairs.
  void logits(const Tokens& tokens, std::span<float> out) const;

  // Appends each known word's and word pair's contribution to logit[label] minus the mean of the
  // other logits (the end-of-text token's share is left out, like a bias).
  void explain(const Tokens& tokens, std::uint32_t label, std::vector<FeatureWeight>& out) const;

 private:
  struct Input {
    std::uint32_t row;
    std::uint32_t position;  // token index; tokens.size() for the end-of-text token
    bool pair;
  };
  void inputs_of(const Tokens& tokens, std::vector<Input>& inputs) const;
  std::int32_t word_id(std::string_view word, std::uint32_t hash) const noexcept;

  std::size_t classes_ = 0;
  int dim_ = 0;
  int word_ngrams_ = 1;
  std::uint32_t bucket_ = 0;
  std::int32_t eos_ = -1;                 // id of "</s>", -1 if absent
  std::string vocabulary_;                // the words back to back
  std::vector<std::uint32_t> word_ends_;  // end of word i in vocabulary_
  std::vector<std::uint32_t> slots_;      // open addressing by fastText's hash: id + 1
  std::vector<float> projected_;          // (words + bucket) x classes: P above
};

// fastText's word hash (Dictionary::hash, 0.9.2): FNV-1a over the bytes read as signed chars.
std::uint32_t fasttext_hash(std::string_view word) noexcept;

}  // namespace tandem::models::text
