#pragma once
// Training the text classifier (text_classifier.h) from a labelled CSV file, seeded and
// reproducible: the same file, options and seed give a byte-identical payload.
//
//   1. Load the CSV (datasets::load_text_csv: text,label columns), tokenise every text.
//   2. Split off a stratified validation set (validation_fraction of each label, seeded).
//   3. Train the TF-IDF logistic regression and fastText on the rest; with threads >= 2 the two
//      run at the same time (each is single-threaded and deterministic, so the result does not
//      depend on `threads`).
//   4. On the validation set, choose the fastText weight w in {0, 0.05, ..., 1} and the
//      temperature T that minimise the negative log-likelihood (calibration.h). The test set is
//      never seen.
// The models are the ones trained on the training part (not refitted on all the data: w and T
// are only valid for the models they were fitted to).
#include <cstdint>
#include <filesystem>

#include "tandem/models/artifact.h"
#include "tandem/models/progress.h"
#include "tandem/models/text/fasttext_model.h"
#include "tandem/models/text/linear_model.h"

namespace tandem::models::text {

struct TextTrainOptions {
  std::filesystem::path train_csv;     // a CSV with text,label columns (datasets::load_text_csv)
  std::filesystem::path word_vectors;  // optional: the GloVe binary (datasets/word_vectors.h);
                                       // empty = none
  double validation_fraction = 0.1;    // held out for the ensemble weight and the temperature
  std::uint64_t seed = 42;
  int threads = 1;  // 1: one model after the other; 2 or more: both at once (same result)
  // After w and T are fitted, train both models again on all the examples (validation split
  // included) with the same settings, and keep w and T.
  bool refit = true;

  // The sub-models' settings. The linear model's defaults were chosen by 5-fold cross-validation
  // on the Fine Foods training file only, fastText's from a few trial runs (bench/text/README.md
  // has both). fastText's word_vectors is taken from above.
  LinearOptions linear;
  FastTextOptions fasttext;

  // Throws TextModelError naming the first option out of range.
  void validate() const;
};

// Trains and returns the artifact: kind "text", payload version 1, data_sha256 of the training
// file (and of the word vectors, when used), metrics of the validation split (accuracy,
// macro_f1, ece, the temperature and fastText weight, each sub-model's accuracy, the example
// counts) and the options as params. Throws TextModelError for bad options, an unreadable or
// malformed file (the loader's message), fewer than 2 labels, a label with fewer than 2
// examples, or fewer than 10 examples in all.
models::Artifact train_text_classifier(const TextTrainOptions& options, const ProgressFn& progress);

}  // namespace tandem::models::text
