#include "tandem/models/classification_metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace tandem::models {

ClassificationReport evaluate_classification(std::vector<std::string> labels,
                                             std::span<const std::uint32_t> truth,
                                             std::span<const std::uint32_t> predicted,
                                             std::span<const float> confidence, int ece_bins) {
  const std::size_t n = truth.size();
  const std::size_t k = labels.size();
  if (k == 0) throw std::invalid_argument("evaluate_classification: no labels");
  if (predicted.size() != n || confidence.size() != n) {
    throw std::invalid_argument("evaluate_classification: " + std::to_string(n) + " true labels, " +
                                std::to_string(predicted.size()) + " predictions, " +
                                std::to_string(confidence.size()) + " confidences");
  }
  if (n == 0) throw std::invalid_argument("evaluate_classification: no examples");
  if (ece_bins < 1) throw std::invalid_argument("evaluate_classification: ece_bins must be >= 1");

  ClassificationReport r;
  r.labels = std::move(labels);
  r.examples = n;
  r.ece_bins = ece_bins;
  r.confusion.assign(k, std::vector<std::uint64_t>(k, 0));
  std::vector<double> bin_conf(ece_bins, 0), bin_correct(ece_bins, 0), bin_count(ece_bins, 0);
  std::uint64_t correct = 0;
  double conf_sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (truth[i] >= k || predicted[i] >= k) {
      throw std::invalid_argument("evaluate_classification: example " + std::to_string(i) +
                                  " has a label index out of range (" + std::to_string(k) +
                                  " labels)");
    }
    float c = confidence[i];
    if (!std::isfinite(c) || c < 0.0f || c > 1.0f) {
      throw std::invalid_argument("evaluate_classification: example " + std::to_string(i) +
                                  " has confidence " + std::to_string(c) + ", not in [0, 1]");
    }
    ++r.confusion[truth[i]][predicted[i]];
    bool ok = truth[i] == predicted[i];
    correct += ok ? 1 : 0;
    conf_sum += c;
    // Bins are [0, 1/B), [1/B, 2/B), ..., [(B-1)/B, 1]: a confidence of exactly 1 goes last.
    int b = std::min(ece_bins - 1, static_cast<int>(c * static_cast<float>(ece_bins)));
    bin_conf[b] += c;
    bin_correct[b] += ok ? 1 : 0;
    bin_count[b] += 1;
  }
  const double dn = static_cast<double>(n);
  r.accuracy = static_cast<double>(correct) / dn;
  r.mean_confidence = conf_sum / dn;
  for (int b = 0; b < ece_bins; ++b) {
    if (bin_count[b] == 0) continue;
    r.ece +=
        bin_count[b] / dn * std::abs(bin_correct[b] / bin_count[b] - bin_conf[b] / bin_count[b]);
  }
  r.per_label.resize(k);
  double f1_sum = 0;
  for (std::size_t l = 0; l < k; ++l) {
    std::uint64_t tp = r.confusion[l][l], predicted_l = 0, support = 0;
    for (std::size_t j = 0; j < k; ++j) {
      predicted_l += r.confusion[j][l];
      support += r.confusion[l][j];
    }
    LabelFigures& f = r.per_label[l];
    f.support = support;
    f.precision = predicted_l ? static_cast<double>(tp) / static_cast<double>(predicted_l) : 0.0;
    f.recall = support ? static_cast<double>(tp) / static_cast<double>(support) : 0.0;
    f.f1 = f.precision + f.recall > 0 ? 2 * f.precision * f.recall / (f.precision + f.recall) : 0.0;
    f1_sum += f.f1;
  }
  r.macro_f1 = f1_sum / static_cast<double>(k);
  return r;
}

namespace {

std::string format(const char* fmt, double a) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, a);
  return buf;
}

std::string pad_left(const std::string& s, std::size_t width) {
  return s.size() >= width ? s : std::string(width - s.size(), ' ') + s;
}

std::string pad_right(const std::string& s, std::size_t width) {
  return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}

}  // namespace

std::string format_classification_report(const ClassificationReport& r) {
  std::string out;
  out += "examples         " + std::to_string(r.examples) + "\n";
  out += "accuracy         " + format("%.4f", r.accuracy) + "\n";
  out += "macro-F1         " + format("%.4f", r.macro_f1) + "\n";
  out += "ECE (" + std::to_string(r.ece_bins) + " bins)     " + format("%.4f", r.ece) + "\n";
  out += "mean confidence  " + format("%.4f", r.mean_confidence) + "\n\n";

  std::size_t name_w = 5;  // "label"
  for (const auto& l : r.labels) name_w = std::max(name_w, l.size());
  out += pad_right("label", name_w) + "  precision  recall      F1  support\n";
  for (std::size_t l = 0; l < r.labels.size(); ++l) {
    const LabelFigures& f = r.per_label[l];
    out += pad_right(r.labels[l], name_w) + "  " + pad_left(format("%.4f", f.precision), 9) + "  " +
           pad_left(format("%.4f", f.recall), 6) + "  " + pad_left(format("%.4f", f.f1), 6) + "  " +
           pad_left(std::to_string(f.support), 7) + "\n";
  }

  // Confusion matrix: rows are true labels, columns predicted; columns as wide as the larger of
  // the label name (cut to 10 characters) and the largest count.
  out += "\nconfusion (rows: true, columns: predicted)\n";
  std::size_t cell_w = 1;
  for (const auto& row : r.confusion)
    for (auto c : row) cell_w = std::max(cell_w, std::to_string(c).size());
  std::vector<std::string> heads;
  for (const auto& l : r.labels) {
    heads.push_back(l.substr(0, 10));
    cell_w = std::max(cell_w, heads.back().size());
  }
  out += pad_right("", name_w);
  for (const auto& h : heads) out += "  " + pad_left(h, cell_w);
  out += "\n";
  for (std::size_t t = 0; t < r.labels.size(); ++t) {
    out += pad_right(r.labels[t], name_w);
    for (auto c : r.confusion[t]) out += "  " + pad_left(std::to_string(c), cell_w);
    out += "\n";
  }
  return out;
}

}  // namespace tandem::models
