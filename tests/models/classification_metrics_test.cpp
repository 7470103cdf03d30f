#include "tandem/models/classification_metrics.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

namespace tandem::models {
namespace {

TEST(ClassificationMetrics, CountsAccuracyF1AndConfusion) {
  // truth:     a a a b b c
  // predicted: a a b b c c
  std::vector<std::uint32_t> truth{0, 0, 0, 1, 1, 2}, pred{0, 0, 1, 1, 2, 2};
  std::vector<float> conf(6, 0.5f);
  auto r = evaluate_classification({"a", "b", "c"}, truth, pred, conf);
  EXPECT_EQ(r.examples, 6u);
  EXPECT_DOUBLE_EQ(r.accuracy, 4.0 / 6);
  EXPECT_EQ(r.confusion[0][0], 2u);
  EXPECT_EQ(r.confusion[0][1], 1u);
  EXPECT_EQ(r.confusion[1][2], 1u);
  EXPECT_EQ(r.confusion[2][2], 1u);
  // a: P 1, R 2/3 -> F1 0.8; b: P 1/2, R 1/2 -> 0.5; c: P 1/2, R 1 -> 2/3.
  EXPECT_NEAR(r.per_label[0].f1, 0.8, 1e-12);
  EXPECT_NEAR(r.per_label[1].f1, 0.5, 1e-12);
  EXPECT_NEAR(r.per_label[2].f1, 2.0 / 3, 1e-12);
  EXPECT_NEAR(r.macro_f1, (0.8 + 0.5 + 2.0 / 3) / 3, 1e-12);
  EXPECT_EQ(r.per_label[0].support, 3u);
}

TEST(ClassificationMetrics, ExpectedCalibrationError) {
  // Four answers at confidence 0.9, three right: |0.75 - 0.9| = 0.15 in the one bin used.
  std::vector<std::uint32_t> truth{0, 0, 0, 0}, pred{0, 0, 0, 1};
  std::vector<float> conf{0.9f, 0.9f, 0.9f, 0.9f};
  auto r = evaluate_classification({"x", "y"}, truth, pred, conf);
  EXPECT_NEAR(r.ece, 0.15, 1e-6);
  // Perfectly calibrated in two bins: 0.5 with half right, 1.0 with all right.
  std::vector<std::uint32_t> t2{0, 0, 0, 0}, p2{0, 1, 0, 0};
  std::vector<float> c2{0.5f, 0.5f, 1.0f, 1.0f};
  EXPECT_NEAR(evaluate_classification({"x", "y"}, t2, p2, c2).ece, 0.0, 1e-9);
}

TEST(ClassificationMetrics, LabelNeverPredictedOrAbsentHasZeroF1) {
  std::vector<std::uint32_t> truth{0, 0}, pred{0, 0};
  std::vector<float> conf{1, 1};
  auto r = evaluate_classification({"x", "y"}, truth, pred, conf);
  EXPECT_EQ(r.per_label[1].f1, 0.0);
  EXPECT_DOUBLE_EQ(r.macro_f1, 0.5);
}

TEST(ClassificationMetrics, RejectsBadInput) {
  std::vector<std::uint32_t> one{0}, bad{5};
  std::vector<float> c{0.5f}, nan{std::numeric_limits<float>::quiet_NaN()}, big{1.5f};
  EXPECT_THROW(evaluate_classification({"x"}, one, bad, c), std::invalid_argument);
  EXPECT_THROW(evaluate_classification({"x"}, one, one, nan), std::invalid_argument);
  EXPECT_THROW(evaluate_classification({"x"}, one, one, big), std::invalid_argument);
  EXPECT_THROW(evaluate_classification({"x"}, {}, {}, {}), std::invalid_argument);
  std::vector<float> two{0.5f, 0.5f};
  EXPECT_THROW(evaluate_classification({"x"}, one, one, two), std::invalid_argument);
}

TEST(ClassificationMetrics, FormatShowsEveryFigure) {
  std::vector<std::uint32_t> truth{0, 1, 1}, pred{0, 1, 0};
  std::vector<float> conf{0.9f, 0.8f, 0.6f};
  std::string s =
      format_classification_report(evaluate_classification({"great", "other"}, truth, pred, conf));
  for (const char* want : {"accuracy         0.6667", "macro-F1", "ECE (15 bins)", "great", "other",
                           "confusion (rows: true, columns: predicted)"}) {
    EXPECT_NE(s.find(want), std::string::npos) << want << "\n" << s;
  }
}

}  // namespace
}  // namespace tandem::models
