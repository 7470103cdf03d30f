#include "tandem/models/calibration.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

namespace tandem::models {
namespace {

// Data whose true probabilities are softmax(z) while the model reports logits z * scale: an
// over-confident model (scale > 1) needs T = scale to be calibrated again.
struct Synthetic {
  std::vector<float> logits;
  std::vector<std::uint32_t> labels;
};

Synthetic make_synthetic(float scale, int n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> z(0.0f, 1.5f);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Synthetic s;
  for (int i = 0; i < n; ++i) {
    float a = z(rng), b = z(rng), c = z(rng);
    std::vector<float> p(3);
    std::vector<float> row{a, b, c};
    softmax(row, 1.0, p);
    double r = u(rng);
    std::uint32_t label = r < p[0] ? 0 : (r < p[0] + p[1] ? 1 : 2);
    s.labels.push_back(label);
    for (float v : row) s.logits.push_back(v * scale);
  }
  return s;
}

TEST(Calibration, RecoversTheTemperatureOfAnOverconfidentModel) {
  Synthetic s = make_synthetic(3.0f, 20000, 7);
  double t = fit_temperature(s.logits, 3, s.labels);
  EXPECT_NEAR(t, 3.0, 0.15);
  // The fitted temperature is at least as good as the raw logits and the neighbours.
  double at_t = mean_nll(s.logits, 3, s.labels, t);
  EXPECT_LT(at_t, mean_nll(s.logits, 3, s.labels, 1.0));
  EXPECT_LE(at_t, mean_nll(s.logits, 3, s.labels, t * 1.1));
  EXPECT_LE(at_t, mean_nll(s.logits, 3, s.labels, t / 1.1));
}

TEST(Calibration, UnderconfidentModelGetsTemperatureBelowOne) {
  Synthetic s = make_synthetic(0.4f, 20000, 11);
  EXPECT_NEAR(fit_temperature(s.logits, 3, s.labels), 0.4, 0.05);
}

TEST(Calibration, SoftmaxIsStableAndHandlesZeroProbabilities) {
  std::vector<float> big{1000.0f, 999.0f, -std::numeric_limits<float>::infinity()};
  std::vector<float> out(3);
  softmax(big, 1.0, out);
  EXPECT_NEAR(out[0], 1.0 / (1.0 + std::exp(-1.0)), 1e-6);
  EXPECT_EQ(out[2], 0.0f);
  EXPECT_NEAR(out[0] + out[1] + out[2], 1.0f, 1e-6);
  softmax(big, 2.0, out);  // flatter, same winner
  EXPECT_NEAR(out[0], 1.0 / (1.0 + std::exp(-0.5)), 1e-6);
}

TEST(Calibration, RejectsBadInput) {
  std::vector<float> logits{0.0f, 1.0f};
  std::vector<std::uint32_t> labels{0}, bad{2};
  EXPECT_THROW(fit_temperature(logits, 2, bad), std::invalid_argument);
  EXPECT_THROW(fit_temperature(logits, 3, labels), std::invalid_argument);
  EXPECT_THROW(fit_temperature(logits, 2, {}), std::invalid_argument);
  std::vector<float> nan{std::numeric_limits<float>::quiet_NaN(), 0.0f};
  EXPECT_THROW(fit_temperature(nan, 2, labels), std::invalid_argument);
  std::vector<float> zero_true{-std::numeric_limits<float>::infinity(), 0.0f};
  EXPECT_THROW(fit_temperature(zero_true, 2, labels), std::invalid_argument);
  std::vector<float> out(1);
  EXPECT_THROW(softmax(logits, 1.0, out), std::invalid_argument);
  std::vector<float> out2(2);
  EXPECT_THROW(softmax(logits, 0.0, out2), std::invalid_argument);
}

}  // namespace
}  // namespace tandem::models
