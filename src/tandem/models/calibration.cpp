#include "tandem/models/calibration.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace tandem::models {

namespace {

void check(std::span<const float> logits, std::size_t classes,
           std::span<const std::uint32_t> labels) {
  if (classes == 0) throw std::invalid_argument("calibration: no classes");
  if (labels.empty()) throw std::invalid_argument("calibration: no examples");
  if (logits.size() != labels.size() * classes) {
    throw std::invalid_argument("calibration: " + std::to_string(logits.size()) + " logits for " +
                                std::to_string(labels.size()) + " examples of " +
                                std::to_string(classes) + " classes");
  }
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] >= classes) {
      throw std::invalid_argument("calibration: example " + std::to_string(i) + " has label " +
                                  std::to_string(labels[i]) + " of " + std::to_string(classes));
    }
    // -infinity is allowed (the log of a zero probability), except for the true label, whose
    // likelihood would be zero at every temperature.
    for (std::size_t c = 0; c < classes; ++c) {
      float v = logits[i * classes + c];
      bool minus_inf = std::isinf(v) && v < 0;
      if (std::isnan(v) || (std::isinf(v) && !minus_inf) || (minus_inf && c == labels[i])) {
        throw std::invalid_argument("calibration: example " + std::to_string(i) +
                                    " has a non-finite logit for class " + std::to_string(c));
      }
    }
  }
}

// -log softmax(row / t)[label], computed with the max subtracted.
double nll_one(std::span<const float> row, std::uint32_t label, double t) {
  double m = -std::numeric_limits<double>::infinity();
  for (float v : row) m = std::max(m, static_cast<double>(v));
  double sum = 0;
  for (float v : row) {
    if (std::isinf(v)) continue;
    sum += std::exp((static_cast<double>(v) - m) / t);
  }
  return -((static_cast<double>(row[label]) - m) / t - std::log(sum));
}

}  // namespace

double mean_nll(std::span<const float> logits, std::size_t classes,
                std::span<const std::uint32_t> labels, double temperature) {
  check(logits, classes, labels);
  if (!(temperature > 0)) throw std::invalid_argument("calibration: temperature must be > 0");
  double total = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    total += nll_one(logits.subspan(i * classes, classes), labels[i], temperature);
  }
  return total / static_cast<double>(labels.size());
}

double fit_temperature(std::span<const float> logits, std::size_t classes,
                       std::span<const std::uint32_t> labels) {
  check(logits, classes, labels);
  // Golden-section search over u = log T in [log 0.05, log 20]. The NLL is convex in 1/T, so it
  // is unimodal in log T too (a monotone reparametrisation), and the search converges to the
  // minimum; 60 iterations shrink the bracket by 0.618^60, far below float precision.
  auto f = [&](double u) { return mean_nll(logits, classes, labels, std::exp(u)); };
  const double phi = (std::sqrt(5.0) - 1) / 2;
  double a = std::log(0.05), b = std::log(20.0);
  double c = b - phi * (b - a), d = a + phi * (b - a);
  double fc = f(c), fd = f(d);
  for (int i = 0; i < 60; ++i) {
    if (fc < fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - phi * (b - a);
      fc = f(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + phi * (b - a);
      fd = f(d);
    }
  }
  return std::exp((a + b) / 2);
}

void softmax(std::span<const float> logits, double temperature, std::span<float> out) {
  if (out.size() != logits.size()) throw std::invalid_argument("softmax: size mismatch");
  if (!(temperature > 0)) throw std::invalid_argument("softmax: temperature must be > 0");
  double m = -std::numeric_limits<double>::infinity();
  for (float v : logits) m = std::max(m, static_cast<double>(v));
  if (std::isinf(m)) {  // every logit is -infinity: nothing to prefer, a uniform answer
    std::fill(out.begin(), out.end(), 1.0f / static_cast<float>(out.size()));
    return;
  }
  double sum = 0;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    double e =
        std::isinf(logits[i]) ? 0.0 : std::exp((static_cast<double>(logits[i]) - m) / temperature);
    out[i] = static_cast<float>(e);
    sum += e;
  }
  for (float& v : out) v = static_cast<float>(v / sum);
}

}  // namespace tandem::models
