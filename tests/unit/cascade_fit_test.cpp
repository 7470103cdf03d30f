// Cascade simulation and threshold fitting on hand-computed cases.
#include "tandem/routing/cascade_fit.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <stdexcept>

using namespace tandem::routing;

namespace {

StageOutcome stage(double confidence, bool correct, double cost, bool available = true) {
  return {confidence, correct, cost, available};
}

// Two stages: cheap (cost 1) and strong (cost 10, always right). The cheap stage is right when
// its confidence is high.
std::vector<CascadeSample> two_stage() {
  return {
      {stage(0.9, true, 1), stage(0.99, true, 10)},
      {stage(0.8, true, 1), stage(0.99, true, 10)},
      {stage(0.6, false, 1), stage(0.99, true, 10)},
      {stage(0.3, false, 1), stage(0.99, true, 10)},
  };
}

}  // namespace

TEST(CascadeFit, SimulatesAcceptanceAndPaysEveryStageThatRan) {
  const auto s = two_stage();
  CascadeResult r = simulate_cascade(s, {0.7});
  EXPECT_DOUBLE_EQ(r.accuracy, 1.0);
  EXPECT_DOUBLE_EQ(r.mean_cost, (1 + 1 + 11 + 11) / 4.0);
  EXPECT_DOUBLE_EQ(r.stage_share[0], 0.5);
  EXPECT_DOUBLE_EQ(r.stage_share[1], 0.5);
  r = simulate_cascade(s, {0.0});  // accept every cheap answer
  EXPECT_DOUBLE_EQ(r.accuracy, 0.5);
  EXPECT_DOUBLE_EQ(r.mean_cost, 1.0);
  r = simulate_cascade(s, {INFINITY});  // escalate every query
  EXPECT_DOUBLE_EQ(r.accuracy, 1.0);
  EXPECT_DOUBLE_EQ(r.mean_cost, 11.0);
  EXPECT_THROW(simulate_cascade(s, {}), std::invalid_argument);
}

TEST(CascadeFit, SkipsStagesWithoutAnAnswer) {
  // Stage 1 has no answer for this query: stage 0 is then the last and answers, unpaid stage 1.
  const std::vector<CascadeSample> s{{stage(0.1, true, 1), stage(0.9, false, 10, false)},
                                     {stage(0.1, true, 1, false), stage(0.9, false, 10)}};
  const CascadeResult r = simulate_cascade(s, {0.5});
  EXPECT_DOUBLE_EQ(r.accuracy, 0.5);
  EXPECT_DOUBLE_EQ(r.mean_cost, (1 + 10) / 2.0);
  EXPECT_DOUBLE_EQ(r.stage_share[0], 0.5);
  EXPECT_DOUBLE_EQ(r.stage_share[1], 0.5);
}

TEST(CascadeFit, FitsTheCheapestSettingAtARequiredAccuracy) {
  const auto s = two_stage();
  const CascadeResult r = fit_cascade(s, {CascadeTarget::Kind::min_cost_at_accuracy, 1.0});
  EXPECT_TRUE(r.target_met);
  EXPECT_DOUBLE_EQ(r.accuracy, 1.0);
  EXPECT_DOUBLE_EQ(r.mean_cost, 6.0);  // accept 0.9 and 0.8, escalate the rest
  ASSERT_EQ(r.thresholds.size(), 1u);
  EXPECT_GT(r.thresholds[0], 0.6);
  EXPECT_LE(r.thresholds[0], 0.8);
  // 75%: accept three cheap answers (one wrong) and escalate one: cost (3 + 11) / 4.
  const CascadeResult r75 = fit_cascade(s, {CascadeTarget::Kind::min_cost_at_accuracy, 0.75});
  EXPECT_DOUBLE_EQ(r75.accuracy, 0.75);
  EXPECT_DOUBLE_EQ(r75.mean_cost, 3.5);
}

TEST(CascadeFit, FitsTheBestAccuracyUnderABudget) {
  const auto s = two_stage();
  CascadeResult r = fit_cascade(s, {CascadeTarget::Kind::max_accuracy_under_budget, 3.5});
  EXPECT_TRUE(r.target_met);
  EXPECT_DOUBLE_EQ(r.accuracy, 0.75);
  EXPECT_DOUBLE_EQ(r.mean_cost, 3.5);
  // A budget below the cheapest setting: the closest (cheapest) one, not met.
  r = fit_cascade(s, {CascadeTarget::Kind::max_accuracy_under_budget, 0.5});
  EXPECT_FALSE(r.target_met);
  EXPECT_DOUBLE_EQ(r.mean_cost, 1.0);
  // An accuracy above what any setting gives: the most accurate, not met.
  std::vector<CascadeSample> hard = s;
  hard[3][1].correct = false;
  r = fit_cascade(hard, {CascadeTarget::Kind::min_cost_at_accuracy, 1.0});
  EXPECT_FALSE(r.target_met);
  EXPECT_DOUBLE_EQ(r.accuracy, 0.75);
}

TEST(CascadeFit, FrontierIsParetoOptimalAndIncreasing) {
  const auto front = cascade_frontier(two_stage());
  ASSERT_GE(front.size(), 3u);
  for (std::size_t i = 1; i < front.size(); ++i) {
    EXPECT_GT(front[i].mean_cost, front[i - 1].mean_cost);
    EXPECT_GT(front[i].accuracy, front[i - 1].accuracy);
  }
  EXPECT_DOUBLE_EQ(front.front().mean_cost, 1.0);
  EXPECT_DOUBLE_EQ(front.back().accuracy, 1.0);
}

TEST(CascadeFit, ThreeStageGridMatchesBruteForce) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<CascadeSample> s;
  for (int i = 0; i < 40; ++i) {
    CascadeSample q;
    for (int k = 0; k < 3; ++k) {
      const double c = std::round(u(rng) * 10) / 10;  // few distinct values: the grid is exact
      q.push_back(stage(c, u(rng) < 0.3 + 0.3 * k + 0.3 * c, 1 + 4 * k));
    }
    s.push_back(q);
  }
  const CascadeTarget target{CascadeTarget::Kind::max_accuracy_under_budget, 4.0};
  const CascadeResult fit = fit_cascade(s, target);
  double best = -1;
  for (int a = 0; a <= 11; ++a) {
    for (int b = 0; b <= 11; ++b) {
      const CascadeResult r = simulate_cascade(s, {a / 10.0, b / 10.0});
      if (r.mean_cost <= 4.0 + 1e-12) best = std::max(best, r.accuracy);
    }
  }
  EXPECT_TRUE(fit.target_met);
  EXPECT_NEAR(fit.accuracy, best, 1e-12);
}

TEST(CascadeFit, CoordinateDescentBeyondThreeStages) {
  // Five stages, each dearer and more often right; the fit must meet a reachable target.
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<CascadeSample> s;
  for (int i = 0; i < 200; ++i) {
    CascadeSample q;
    for (int k = 0; k < 5; ++k) {
      const double c = u(rng);
      q.push_back(stage(c, u(rng) < 0.2 * k + 0.5 * c, std::pow(2.0, k)));
    }
    s.push_back(q);
  }
  const CascadeResult all_last = simulate_cascade(s, {INFINITY, INFINITY, INFINITY, INFINITY});
  const CascadeResult r =
      fit_cascade(s, {CascadeTarget::Kind::min_cost_at_accuracy, all_last.accuracy - 0.05});
  EXPECT_TRUE(r.target_met);
  EXPECT_LT(r.mean_cost, all_last.mean_cost);
  const auto front = cascade_frontier(s);
  for (std::size_t i = 1; i < front.size(); ++i) {
    EXPECT_GT(front[i].accuracy, front[i - 1].accuracy);
  }
}

TEST(CascadeFit, RejectsBadSamples) {
  EXPECT_THROW(fit_cascade({}, {}), std::invalid_argument);
  std::vector<CascadeSample> ragged{{stage(0.5, true, 1)},
                                    {stage(0.5, true, 1), stage(1, true, 1)}};
  EXPECT_THROW(cascade_frontier(ragged), std::invalid_argument);
  std::vector<CascadeSample> bad{{stage(NAN, true, 1), stage(0.5, true, 1)}};
  EXPECT_THROW(simulate_cascade(bad, {0.5}), std::invalid_argument);
  bad = {{stage(0.5, true, -1), stage(0.5, true, 1)}};
  EXPECT_THROW(simulate_cascade(bad, {0.5}), std::invalid_argument);
}

TEST(CascadeFit, AgreementConfidence) {
  // One stage: its prior.
  EXPECT_NEAR(agreement_confidence({1}, {0.7}, 4), 0.7, 1e-12);
  // Two stages that agree: truth = 1 has 0.7 * 0.8; every other label (0.3 / 3) * (0.2 / 3).
  const double agree = 0.7 * 0.8 / (0.7 * 0.8 + 3 * (0.1 * 0.2 / 3));
  EXPECT_NEAR(agreement_confidence({1, 1}, {0.7, 0.8}, 4), agree, 1e-12);
  // Disagreeing: label 2 (stage 1) against label 1 (stage 0); two labels nobody said.
  const double l1 = 0.7 * (0.2 / 3), l2 = (0.3 / 3) * 0.8, none = (0.3 / 3) * (0.2 / 3);
  EXPECT_NEAR(agreement_confidence({1, 2}, {0.7, 0.8}, 4), l2 / (l1 + l2 + 2 * none), 1e-12);
  EXPECT_LT(agreement_confidence({1, 2}, {0.7, 0.8}, 4), 0.8);
  EXPECT_GT(agreement_confidence({1, 1}, {0.7, 0.8}, 4), 0.8);
  // An answer outside the labels: never right; earlier ones outside the labels say nothing.
  EXPECT_EQ(agreement_confidence({1, std::nullopt}, {0.7, 0.8}, 4), 0.0);
  EXPECT_NEAR(agreement_confidence({std::nullopt, 3}, {0.7, 0.8}, 4), 0.8, 1e-12);
  EXPECT_THROW(agreement_confidence({1, 1}, {0.7}, 4), std::invalid_argument);
  EXPECT_THROW(agreement_confidence({5}, {0.7}, 4), std::invalid_argument);
  EXPECT_THROW(agreement_confidence({1}, {0.7}, 1), std::invalid_argument);
}

TEST(CascadeFit, AnswerLabel) {
  const std::vector<std::string> labels{"A", "B", "C", "D"};
  EXPECT_EQ(answer_label("B", labels), 1u);
  EXPECT_EQ(answer_label(" D\n", labels), 3u);
  EXPECT_EQ(answer_label("C) because", labels), 2u);
  EXPECT_EQ(answer_label("A. yes", labels), 0u);
  EXPECT_FALSE(answer_label("I do not know", labels).has_value());
  EXPECT_FALSE(answer_label("Based on", labels).has_value());
  EXPECT_FALSE(answer_label("", labels).has_value());
  EXPECT_EQ(answer_label("positive!", {"pos", "positive"}), 1u);
}
