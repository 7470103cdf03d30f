#include "tandem/models/text/linear_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <unordered_map>

#include "tandem/models/byte_io.h"
#include "tandem/models/text/text_model_error.h"

namespace tandem::models::text {
namespace {

// Layout of LinearModel::encode (little-endian; F features, K classes):
//   0   8    magic "TDMTXTLR"
//   8   4    u32 layout version: 1
//   12  4    u32 K (2 to 65,536)
//   16  4    u32 F
//   20  4    zero
//   24  8F   u64 feature keys, strictly increasing
//       4F   f32 idf per feature (finite, >= 1)
//       4FK  f32 weights, feature by feature
//       4K   f32 biases
// Nothing may follow.
constexpr char kMagic[8] = {'T', 'D', 'M', 'T', 'X', 'T', 'L', 'R'};
constexpr std::uint32_t kLayoutVersion = 1;
constexpr std::uint32_t kMaxClasses = 65'536;

// Sparse rows of the training texts' feature vectors (compressed rows).
struct SparseRows {
  std::vector<std::size_t> offsets{0};
  std::vector<std::uint32_t> columns;
  std::vector<float> values;
};

// The training objective: mean log-loss of softmax(x . W + b) plus (l2 / 2) |W|^2, and its
// gradient. Parameters: W row-major (features x classes), then b.
class Objective {
 public:
  Objective(const SparseRows& rows, std::span<const std::uint32_t> labels, std::size_t features,
            std::size_t classes, double l2)
      : rows_(rows), labels_(labels), features_(features), classes_(classes), l2_(l2) {}

  std::size_t size() const noexcept { return (features_ + 1) * classes_; }

  double operator()(const std::vector<double>& x, std::vector<double>& grad) const {
    std::fill(grad.begin(), grad.end(), 0.0);
    const std::size_t k = classes_;
    const double* bias = x.data() + features_ * k;
    double* grad_bias = grad.data() + features_ * k;
    std::vector<double> scores(k);
    double loss = 0;
    for (std::size_t n = 0; n < labels_.size(); ++n) {
      for (std::size_t c = 0; c < k; ++c) scores[c] = bias[c];
      for (std::size_t e = rows_.offsets[n]; e < rows_.offsets[n + 1]; ++e) {
        const double v = rows_.values[e];
        const double* w = x.data() + std::size_t{rows_.columns[e]} * k;
        for (std::size_t c = 0; c < k; ++c) scores[c] += v * w[c];
      }
      const double top = *std::max_element(scores.begin(), scores.end());
      const double truth = scores[labels_[n]];
      double sum = 0;
      for (std::size_t c = 0; c < k; ++c) {
        scores[c] = std::exp(scores[c] - top);
        sum += scores[c];
      }
      loss += std::log(sum) + top - truth;
      // The residuals p - y.
      for (std::size_t c = 0; c < k; ++c) {
        scores[c] = scores[c] / sum - (c == labels_[n] ? 1.0 : 0.0);
        grad_bias[c] += scores[c];
      }
      for (std::size_t e = rows_.offsets[n]; e < rows_.offsets[n + 1]; ++e) {
        const double v = rows_.values[e];
        double* g = grad.data() + std::size_t{rows_.columns[e]} * k;
        for (std::size_t c = 0; c < k; ++c) g[c] += v * scores[c];
      }
    }
    const double inv_n = 1.0 / static_cast<double>(labels_.size());
    double penalty = 0;
    for (std::size_t i = 0; i < features_ * k; ++i) {
      grad[i] = grad[i] * inv_n + l2_ * x[i];
      penalty += x[i] * x[i];
    }
    for (std::size_t c = 0; c < k; ++c) grad_bias[c] *= inv_n;
    return loss * inv_n + 0.5 * l2_ * penalty;
  }

 private:
  const SparseRows& rows_;
  std::span<const std::uint32_t> labels_;
  std::size_t features_;
  std::size_t classes_;
  double l2_;
};

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Limited-memory BFGS (Nocedal and Wright, algorithm 7.4) with a backtracking Armijo line search.
// Convex objective: the minimum is unique, so the result depends only on the data, not on a
// learning rate or an order of examples.
std::vector<double> minimise(const Objective& objective, int max_iterations,
                             const LinearProgressFn& progress) {
  constexpr std::size_t kMemory = 7;
  const std::size_t n = objective.size();
  std::vector<double> x(n, 0.0), grad(n), next(n), next_grad(n), direction(n);
  std::vector<std::vector<double>> s_hist, y_hist;
  std::vector<double> rho_hist;
  double f = objective(x, grad);
  for (int iteration = 1; iteration <= max_iterations; ++iteration) {
    // Two-loop recursion: direction = -H grad.
    direction = grad;
    std::vector<double> alpha(s_hist.size());
    for (std::size_t m = s_hist.size(); m-- > 0;) {
      alpha[m] = rho_hist[m] * dot(s_hist[m], direction);
      for (std::size_t i = 0; i < n; ++i) direction[i] -= alpha[m] * y_hist[m][i];
    }
    double gamma = 1.0;
    if (!s_hist.empty())
      gamma = dot(s_hist.back(), y_hist.back()) / dot(y_hist.back(), y_hist.back());
    for (double& d : direction) d *= gamma;
    for (std::size_t m = 0; m < s_hist.size(); ++m) {
      const double beta = rho_hist[m] * dot(y_hist[m], direction);
      for (std::size_t i = 0; i < n; ++i) direction[i] += (alpha[m] - beta) * s_hist[m][i];
    }
    for (double& d : direction) d = -d;
    double slope = dot(grad, direction);
    if (!(slope < 0)) {  // not a descent direction (numerical trouble): steepest descent
      s_hist.clear();
      y_hist.clear();
      rho_hist.clear();
      for (std::size_t i = 0; i < n; ++i) direction[i] = -grad[i];
      slope = dot(grad, direction);
    }
    double step = s_hist.empty() ? 1.0 / std::max(1.0, std::sqrt(-slope)) : 1.0;
    double next_f = 0;
    bool accepted = false;
    for (int halvings = 0; halvings < 50; ++halvings) {
      for (std::size_t i = 0; i < n; ++i) next[i] = x[i] + step * direction[i];
      next_f = objective(next, next_grad);
      if (next_f <= f + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
      step *= 0.5;
    }
    if (!accepted) break;  // no decrease possible at float precision: converged
    std::vector<double> s(n), y(n);
    for (std::size_t i = 0; i < n; ++i) {
      s[i] = next[i] - x[i];
      y[i] = next_grad[i] - grad[i];
    }
    const double sy = dot(s, y);
    if (sy > 1e-12) {
      if (s_hist.size() == kMemory) {
        s_hist.erase(s_hist.begin());
        y_hist.erase(y_hist.begin());
        rho_hist.erase(rho_hist.begin());
      }
      s_hist.push_back(std::move(s));
      y_hist.push_back(std::move(y));
      rho_hist.push_back(1.0 / sy);
    }
    const double decrease = f - next_f;
    x.swap(next);
    grad.swap(next_grad);
    f = next_f;
    if (progress) progress(iteration, max_iterations, f);
    double grad_max = 0;
    for (double g : grad) grad_max = std::max(grad_max, std::abs(g));
    if (grad_max < 1e-7 || decrease < 1e-12 * std::max(1.0, std::abs(f))) break;
  }
  return x;
}

}  // namespace

LinearModel LinearModel::train(std::span<const Tokens> texts, std::span<const std::uint32_t> labels,
                               std::size_t classes, const LinearOptions& options,
                               const LinearProgressFn& progress) {
  if (texts.size() != labels.size()) {
    throw TextModelError("linear model: " + std::to_string(texts.size()) + " texts but " +
                         std::to_string(labels.size()) + " labels");
  }
  if (texts.empty()) throw TextModelError("linear model: no training texts");
  if (classes < 2 || classes > kMaxClasses) {
    throw TextModelError("linear model: " + std::to_string(classes) +
                         " classes (2 to 65,536 are possible)");
  }
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] >= classes) {
      throw TextModelError("linear model: text " + std::to_string(i) + " has label " +
                           std::to_string(labels[i]) + ", not below " + std::to_string(classes));
    }
  }
  if (!(options.l2 > 0) || !std::isfinite(options.l2)) {
    throw TextModelError("linear model: l2 must be a positive number");
  }
  if (options.max_iterations < 1) throw TextModelError("linear model: max_iterations must be >= 1");

  // Document frequencies of every word and word pair.
  std::unordered_map<std::uint64_t, std::uint32_t> df;
  std::vector<std::uint64_t> keys;
  for (const Tokens& tokens : texts) {
    keys.clear();
    std::uint64_t previous = 0;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      const std::uint64_t k = word_key(tokens[i]);
      keys.push_back(k);
      if (i > 0) keys.push_back(pair_key(previous, k));
      previous = k;
    }
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    for (std::uint64_t k : keys) ++df[k];
  }
  LinearModel model;
  model.classes_ = classes;
  model.mode_ = options.features;
  for (const auto& [key, count] : df) {
    if (count >= std::max<std::uint32_t>(1, options.min_df)) model.keys_.push_back(key);
  }
  std::sort(model.keys_.begin(), model.keys_.end());
  const double n_texts = static_cast<double>(texts.size());
  model.idf_.reserve(model.keys_.size());
  for (std::uint64_t key : model.keys_) {
    model.idf_.push_back(
        model.mode_ == LinearFeatures::kTfIdf
            ? static_cast<float>(std::log((1.0 + n_texts) / (1.0 + df.at(key))) + 1.0)
            : 1.0f);
  }
  model.weights_.assign(model.keys_.size() * classes, 0.0f);
  model.bias_.assign(classes, 0.0f);
  model.build_index();

  // The training vectors exactly as logits() will compute them.
  SparseRows rows;
  std::vector<Found> found;
  std::vector<float> values;
  for (const Tokens& tokens : texts) {
    model.features_of(tokens, found, values);
    for (std::size_t j = 0; j < found.size(); ++j) {
      rows.columns.push_back(found[j].feature);
      rows.values.push_back(values[j]);
    }
    rows.offsets.push_back(rows.columns.size());
  }

  const std::size_t f_count = model.keys_.size();
  if (model.mode_ == LinearFeatures::kTfIdf) {
    const Objective objective(rows, labels, f_count, classes, options.l2);
    const std::vector<double> x = minimise(objective, options.max_iterations, progress);
    for (std::size_t i = 0; i < model.weights_.size(); ++i) {
      model.weights_[i] = static_cast<float>(x[i]);
    }
    for (std::size_t c = 0; c < classes; ++c) {
      model.bias_[c] = static_cast<float>(x[model.weights_.size() + c]);
    }
    return model;
  }
  // NB-LR (Wang and Manning 2012's NBSVM with a logistic loss), one label against the rest:
  // r = ln((alpha + presence counts in the label) / |.|_1) - ln((alpha + counts elsewhere) /
  // |.|_1), the features scaled by r, a binary L2 logistic regression; the model keeps r x w.
  std::vector<double> in_label(f_count * classes, 1.0), total(f_count, 0.0);
  for (std::size_t n = 0; n < labels.size(); ++n) {
    for (std::size_t e = rows.offsets[n]; e < rows.offsets[n + 1]; ++e) {
      in_label[std::size_t{rows.columns[e]} * classes + labels[n]] += 1;
      total[rows.columns[e]] += 1;
    }
  }
  // With two labels the second model is the first one negated: trained once.
  const std::size_t models = classes == 2 ? 1 : classes;
  for (std::size_t c = 0; c < models; ++c) {
    std::vector<double> r(f_count);
    double sum_in = 0, sum_out = 0;
    for (std::size_t f = 0; f < f_count; ++f) {
      sum_in += in_label[f * classes + c];
      sum_out += 1.0 + total[f] - (in_label[f * classes + c] - 1.0);
    }
    for (std::size_t f = 0; f < f_count; ++f) {
      const double out = 1.0 + total[f] - (in_label[f * classes + c] - 1.0);
      r[f] = std::log(in_label[f * classes + c] / sum_in) - std::log(out / sum_out);
    }
    SparseRows scaled = rows;
    for (std::size_t e = 0; e < scaled.values.size(); ++e) {
      scaled.values[e] = static_cast<float>(scaled.values[e] * r[scaled.columns[e]]);
    }
    std::vector<std::uint32_t> is_label(labels.size());
    for (std::size_t n = 0; n < labels.size(); ++n) is_label[n] = labels[n] == c ? 1 : 0;
    const Objective objective(scaled, is_label, f_count, 2, options.l2);
    const std::vector<double> x = minimise(objective, options.max_iterations, progress);
    for (std::size_t f = 0; f < f_count; ++f) {
      const double w = (x[f * 2 + 1] - x[f * 2]) * r[f];
      model.weights_[f * classes + c] = static_cast<float>(w);
      if (classes == 2) model.weights_[f * classes + 1] = static_cast<float>(-w);
    }
    const double b = x[f_count * 2 + 1] - x[f_count * 2];
    model.bias_[c] = static_cast<float>(b);
    if (classes == 2) model.bias_[1] = static_cast<float>(-b);
  }
  return model;
}

void LinearModel::build_index() {
  std::size_t size = 16;
  while (size < 2 * keys_.size()) size *= 2;
  slots_.assign(size, Slot{});
  for (std::size_t row = 0; row < keys_.size(); ++row) {
    std::size_t slot = keys_[row] & (size - 1);
    while (slots_[slot].row != 0) slot = (slot + 1) & (size - 1);
    slots_[slot] = Slot{keys_[row], static_cast<std::uint32_t>(row + 1)};
  }
}

std::int64_t LinearModel::find(std::uint64_t key) const noexcept {
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t slot = key & mask;; slot = (slot + 1) & mask) {
    const Slot& entry = slots_[slot];
    if (entry.row == 0) return -1;
    if (entry.key == key) return entry.row - 1;
  }
}

void LinearModel::features_of(const Tokens& tokens, std::vector<Found>& found,
                              std::vector<float>& values) const {
  found.clear();
  values.clear();
  std::uint64_t previous = 0;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const std::uint64_t k = word_key(tokens[i]);
    if (const std::int64_t row = find(k); row >= 0) {
      found.push_back({static_cast<std::uint32_t>(row), static_cast<std::uint32_t>(i), false});
    }
    if (i > 0) {
      if (const std::int64_t row = find(pair_key(previous, k)); row >= 0) {
        found.push_back({static_cast<std::uint32_t>(row), static_cast<std::uint32_t>(i - 1), true});
      }
    }
    previous = k;
  }
  // Equal features next to each other, the first occurrence first; then one entry each.
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
    return a.feature != b.feature ? a.feature < b.feature : a.position < b.position;
  });
  std::size_t out = 0;
  double norm = 0;
  for (std::size_t i = 0; i < found.size();) {
    std::size_t j = i + 1;
    while (j < found.size() && found[j].feature == found[i].feature) ++j;
    const float v = mode_ == LinearFeatures::kTfIdf
                        ? static_cast<float>((1.0 + std::log(static_cast<double>(j - i))) *
                                             idf_[found[i].feature])
                        : 1.0f;
    found[out++] = found[i];
    values.push_back(v);
    norm += static_cast<double>(v) * v;
    i = j;
  }
  found.resize(out);
  if (norm > 0 && mode_ == LinearFeatures::kTfIdf) {
    const auto scale = static_cast<float>(1.0 / std::sqrt(norm));
    for (float& v : values) v *= scale;
  }
}

void LinearModel::logits(const Tokens& tokens, std::span<float> out) const {
  for (std::size_t c = 0; c < classes_; ++c) out[c] = bias_[c];
  if (mode_ == LinearFeatures::kNaiveBayes) {
    // The hot path of predict(): presence only, so each known feature's weights are added once.
    // A per-thread stamp per feature row (the call's number) finds repeats without sorting;
    // stamps of other models sharing the thread are older numbers, so they never match.
    thread_local std::vector<std::uint32_t> stamps;
    thread_local std::uint32_t call = 0;
    if (stamps.size() < keys_.size()) stamps.resize(keys_.size(), 0);
    if (++call == 0) {  // wrapped around: forget every stamp
      std::fill(stamps.begin(), stamps.end(), 0);
      call = 1;
    }
    const auto add = [&](std::int64_t row) {
      if (row < 0 || stamps[static_cast<std::size_t>(row)] == call) return;
      stamps[static_cast<std::size_t>(row)] = call;
      const float* w = weights_.data() + static_cast<std::size_t>(row) * classes_;
      for (std::size_t c = 0; c < classes_; ++c) out[c] += w[c];
    };
    std::uint64_t previous = 0;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      const std::uint64_t k = word_key(tokens[i]);
      add(find(k));
      if (i > 0) add(find(pair_key(previous, k)));
      previous = k;
    }
    return;
  }
  thread_local std::vector<Found> found;
  thread_local std::vector<float> values;
  features_of(tokens, found, values);
  for (std::size_t j = 0; j < found.size(); ++j) {
    const float* w = weights_.data() + std::size_t{found[j].feature} * classes_;
    for (std::size_t c = 0; c < classes_; ++c) out[c] += values[j] * w[c];
  }
}

void LinearModel::explain(const Tokens& tokens, std::uint32_t label,
                          std::vector<FeatureWeight>& out) const {
  thread_local std::vector<Found> found;
  thread_local std::vector<float> values;
  features_of(tokens, found, values);
  const float others = 1.0f / static_cast<float>(classes_ - 1);
  for (std::size_t j = 0; j < found.size(); ++j) {
    const float* w = weights_.data() + std::size_t{found[j].feature} * classes_;
    float rest = 0;
    for (std::size_t c = 0; c < classes_; ++c) {
      if (c != label) rest += w[c];
    }
    out.push_back({keys_[found[j].feature], found[j].position, found[j].pair,
                   values[j] * (w[label] - rest * others)});
  }
}

std::string LinearModel::encode() const {
  ByteWriter w;
  const std::size_t f = keys_.size();
  w.reserve(24 + 8 * f + 4 * f + 4 * f * classes_ + 4 * classes_);
  w.bytes(std::string_view(kMagic, sizeof kMagic));
  w.integer<std::uint32_t>(kLayoutVersion);
  w.integer<std::uint32_t>(static_cast<std::uint32_t>(classes_));
  w.integer<std::uint32_t>(static_cast<std::uint32_t>(f));
  w.integer<std::uint32_t>(static_cast<std::uint32_t>(mode_));
  for (std::uint64_t k : keys_) w.integer(k);
  for (float v : idf_) w.f32(v);
  for (float v : weights_) w.f32(v);
  for (float v : bias_) w.f32(v);
  return w.take();
}

LinearModel LinearModel::decode(std::string_view bytes) {
  ByteReader<TextModelError> r(bytes, "linear model");
  if (std::memcmp(r.take(sizeof kMagic, "magic").data(), kMagic, sizeof kMagic) != 0) {
    r.fail(0, "not a linear text model (the magic is not TDMTXTLR)");
  }
  const auto layout = r.integer<std::uint32_t>("layout version");
  if (layout != kLayoutVersion) {
    r.fail(8, "layout version " + std::to_string(layout) + " (this code reads " +
                  std::to_string(kLayoutVersion) + ")");
  }
  const auto classes = r.integer<std::uint32_t>("classes");
  if (classes < 2 || classes > kMaxClasses) {
    r.fail(12, std::to_string(classes) + " classes (2 to 65,536 are possible)");
  }
  const auto features = r.integer<std::uint32_t>("features");
  const auto mode = r.integer<std::uint32_t>("feature mode");
  if (mode > 1) r.fail(20, "feature mode " + std::to_string(mode) + " (0 or 1 are known)");
  // Checked against the real size before anything is allocated.
  const std::uint64_t expected =
      24 + std::uint64_t{features} * (12 + 4 * std::uint64_t{classes}) + 4 * std::uint64_t{classes};
  if (expected != bytes.size()) {
    r.fail(16, std::to_string(features) + " features of " + std::to_string(classes) +
                   " classes need " + std::to_string(expected) + " bytes, the model has " +
                   std::to_string(bytes.size()));
  }
  LinearModel model;
  model.classes_ = classes;
  model.mode_ = static_cast<LinearFeatures>(mode);
  model.keys_.resize(features);
  for (std::uint32_t i = 0; i < features; ++i) {
    const std::size_t at = r.offset();
    model.keys_[i] = r.integer<std::uint64_t>("feature keys");
    if (i > 0 && model.keys_[i] <= model.keys_[i - 1]) {
      r.fail(at, "feature keys are not strictly increasing");
    }
  }
  model.idf_.resize(features);
  for (std::uint32_t i = 0; i < features; ++i) {
    const std::size_t at = r.offset();
    model.idf_[i] = r.f32("an idf");
    if (model.idf_[i] < 1.0f) r.fail(at, "an idf is below 1");
  }
  model.weights_.resize(std::size_t{features} * classes);
  for (float& v : model.weights_) v = r.f32("a weight");
  model.bias_.resize(classes);
  for (float& v : model.bias_) v = r.f32("a bias");
  r.expect_end();
  model.build_index();
  return model;
}

}  // namespace tandem::models::text
