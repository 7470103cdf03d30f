#pragma once
// Synthetic labelled texts for the text classifier's tests, and one small model trained on them
// once per test binary (training is the slow part; the tests that only read a model share it).
//
// A text is 6 to 12 filler words ("w0" .. "w79", no label signal) with one signal word of its
// label inserted at a random place; 10% of the texts also carry a signal word of another label,
// so the task is learnable but not trivially separable.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tandem/datasets/text_dataset.h"
#include "tandem/models/artifact.h"
#include "tandem/models/text/text_classifier.h"
#include "tandem/models/text/text_training.h"

namespace tandem::models::text::testing {

// Signal words per label; labels are named "label0", "label1", ... (sorted as numbered).
const std::vector<std::vector<std::string>>& signal_words();

struct Example {
  std::string text;
  std::uint32_t label = 0;
};
std::vector<Example> synthetic_examples(std::size_t count, std::size_t labels, std::uint64_t seed);

// Writes examples as a text,label CSV (labels "label0", ...) into the test temp folder.
std::filesystem::path write_csv(const std::string& name, const std::vector<Example>& examples);
std::filesystem::path write_file(const std::string& name, const std::string& content);

// The examples as a loaded data set (labels "label0", ... sorted like load_text_csv does).
datasets::TextDataset as_dataset(const std::vector<Example>& examples, std::size_t labels);

// Small and fast settings for tests (seconds even under the sanitizers).
TextTrainOptions small_options(const std::filesystem::path& csv);

// A two-label model trained once: 600 synthetic texts, small_options, seed 7.
struct SharedModel {
  std::filesystem::path csv;
  models::Artifact artifact;
  std::shared_ptr<const TextClassifier> model;
};
const SharedModel& shared_binary_model();

}  // namespace tandem::models::text::testing
