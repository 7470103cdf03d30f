#pragma once
// The figures `tandem eval` prints for a classifier (text or vision): accuracy, per-label
// precision/recall/F1, macro-F1, expected calibration error and the confusion matrix.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace tandem::models {

struct LabelFigures {
  double precision = 0;  // 0 when the label was never predicted
  double recall = 0;     // 0 when the label never occurs
  double f1 = 0;
  std::uint64_t support = 0;  // examples whose true label this is
};

struct ClassificationReport {
  std::vector<std::string> labels;
  std::size_t examples = 0;
  double accuracy = 0;
  double macro_f1 = 0;  // unweighted mean of the labels' F1 (labels with no support included)
  // Expected calibration error: the confidences split into `ece_bins` equal-width bins over
  // [0, 1]; sum over bins of (bin size / n) * |accuracy in bin - mean confidence in bin|.
  double ece = 0;
  int ece_bins = 15;
  double mean_confidence = 0;
  std::vector<LabelFigures> per_label;
  // confusion[t][p]: examples of true label t predicted as p.
  std::vector<std::vector<std::uint64_t>> confusion;
};

// `truth`, `predicted` and `confidence` (the probability given to the predicted label, in
// [0, 1]) have one entry per example. Throws std::invalid_argument when the sizes differ, a
// label index is out of range, a confidence is outside [0, 1] or not finite, or there are no
// examples.
ClassificationReport evaluate_classification(std::vector<std::string> labels,
                                             std::span<const std::uint32_t> truth,
                                             std::span<const std::uint32_t> predicted,
                                             std::span<const float> confidence, int ece_bins = 15);

// The report as the CLI prints it: the summary lines, a per-label table and the confusion matrix
// (rows: true label, columns: predicted).
std::string format_classification_report(const ClassificationReport& report);

}  // namespace tandem::models
