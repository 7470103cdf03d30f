// Cost-accuracy metrics on small hand-computed tables.
#include "tandem/routing/cost_curve.h"

#include <gtest/gtest.h>

#include <stdexcept>

using namespace tandem::routing;

namespace {

// 4 queries, 2 models: weak (cost 1) right on q0, q1; strong (cost 10) right on q0, q1, q2, q3.
OutcomeTable two_models() {
  OutcomeTable t;
  t.models = 2;
  t.score = {1, 1, 1, 1, 0, 1, 0, 1};
  t.cost = {1, 10, 1, 10, 1, 10, 1, 10};
  return t;
}

}  // namespace

TEST(CostCurve, SingleModelsAndChoices) {
  const OutcomeTable t = two_models();
  const CurvePoint weak = single_model(t, 0), strong = single_model(t, 1);
  EXPECT_DOUBLE_EQ(weak.accuracy, 0.5);
  EXPECT_DOUBLE_EQ(weak.mean_cost, 1);
  EXPECT_DOUBLE_EQ(strong.accuracy, 1);
  EXPECT_DOUBLE_EQ(strong.mean_cost, 10);
  const CurvePoint mixed = evaluate_choices(t, {0, 1, 1, 0}, 0.25);
  EXPECT_DOUBLE_EQ(mixed.accuracy, 0.75);  // q0 weak right, q1 strong right, q2 strong right
  EXPECT_DOUBLE_EQ(mixed.mean_cost, 5.5);
  EXPECT_DOUBLE_EQ(mixed.knob, 0.25);
  ASSERT_EQ(mixed.share.size(), 2u);
  EXPECT_DOUBLE_EQ(mixed.share[1], 0.5);
  EXPECT_THROW(evaluate_choices(t, {0, 1}), std::invalid_argument);
  EXPECT_THROW(evaluate_choices(t, {0, 1, 2, 0}), std::invalid_argument);
}

TEST(CostCurve, OracleTakesTheCheapestCorrectModelElseTheCheapest) {
  OutcomeTable t = two_models();
  t.score[7] = 0;  // q3: nobody is right -> the cheapest model
  const CurvePoint o = oracle(t);
  EXPECT_DOUBLE_EQ(o.accuracy, 0.75);
  EXPECT_DOUBLE_EQ(o.mean_cost, (1 + 1 + 10 + 1) / 4.0);
  EXPECT_DOUBLE_EQ(o.share[0], 0.75);
}

TEST(CostCurve, RandomRouterIsTheUpperHullOfTheSingleModels) {
  CurvePoint a, b, c, d;
  a.mean_cost = 1, a.accuracy = 0.5;
  b.mean_cost = 10, b.accuracy = 1.0;
  c.mean_cost = 5, c.accuracy = 0.6;   // under the segment a-b: never worth mixing in
  d.mean_cost = 20, d.accuracy = 0.9;  // dearer and worse than b
  const std::vector<CurvePoint> singles{a, b, c, d};
  EXPECT_FALSE(random_router_accuracy(singles, 0.5).has_value());
  EXPECT_DOUBLE_EQ(*random_router_accuracy(singles, 1), 0.5);
  EXPECT_NEAR(*random_router_accuracy(singles, 5.5), 0.75, 1e-12);  // half and half
  EXPECT_DOUBLE_EQ(*random_router_accuracy(singles, 10), 1.0);
  EXPECT_DOUBLE_EQ(*random_router_accuracy(singles, 30), 1.0);
  // A point above the segment joins the hull.
  CurvePoint e;
  e.mean_cost = 2, e.accuracy = 0.9;
  const std::vector<CurvePoint> with_e{a, b, e};
  EXPECT_NEAR(*random_router_accuracy(with_e, 1.5), 0.7, 1e-12);
  EXPECT_NEAR(*random_router_accuracy(with_e, 6), 0.95, 1e-12);
}

TEST(CostCurve, ParetoFrontAndCheapestReaching) {
  CurvePoint a, b, c;
  a.mean_cost = 1, a.accuracy = 0.5;
  b.mean_cost = 2, b.accuracy = 0.4;
  c.mean_cost = 3, c.accuracy = 0.8;
  const auto front = pareto_front({c, b, a});
  ASSERT_EQ(front.size(), 2u);
  EXPECT_DOUBLE_EQ(front[0].mean_cost, 1);
  EXPECT_DOUBLE_EQ(front[1].mean_cost, 3);
  EXPECT_DOUBLE_EQ(cheapest_reaching({a, b, c}, 0.45)->mean_cost, 1);
  EXPECT_DOUBLE_EQ(cheapest_reaching({a, b, c}, 0.6)->mean_cost, 3);
  EXPECT_FALSE(cheapest_reaching({a, b, c}, 0.9).has_value());
}

TEST(CostCurve, AreaUnderTheHull) {
  CurvePoint a, b;
  a.mean_cost = 0, a.accuracy = 0.5;
  b.mean_cost = 10, b.accuracy = 1.0;
  EXPECT_NEAR(area_under_curve({a, b}, 0, 10), 0.75, 1e-12);
  // Flat beyond the last point: over [0, 20], half the range at 0.75 mean, half at 1.
  EXPECT_NEAR(area_under_curve({a, b}, 0, 20), 0.875, 1e-12);
  EXPECT_THROW(area_under_curve({}, 0, 1), std::invalid_argument);
  EXPECT_THROW(area_under_curve({a}, 1, 1), std::invalid_argument);
}

TEST(CostCurve, CallPerformanceThresholdOfARanking) {
  // 4 queries; the strong model gains on q2 and q3 only.
  const OutcomeTable t = two_models();
  // A perfect ranking puts q2, q3 first: 50% of the gap after 1 of 4 calls, 100% after 2.
  const std::vector<double> perfect{0.1, 0.2, 0.9, 0.8};
  EXPECT_DOUBLE_EQ(*call_performance_threshold(t, 0, 1, perfect, 0.5), 0.25);
  EXPECT_DOUBLE_EQ(*call_performance_threshold(t, 0, 1, perfect, 0.8), 0.5);
  EXPECT_DOUBLE_EQ(*call_performance_threshold(t, 0, 1, perfect, 0.0), 0.0);
  // The worst ranking puts them last.
  const std::vector<double> worst{0.9, 0.8, 0.1, 0.2};
  EXPECT_DOUBLE_EQ(*call_performance_threshold(t, 0, 1, worst, 0.5), 0.75);
  EXPECT_DOUBLE_EQ(*call_performance_threshold(t, 0, 1, worst, 0.8), 1.0);
  // No gap: no threshold.
  EXPECT_FALSE(call_performance_threshold(t, 1, 0, perfect, 0.5).has_value());
  EXPECT_THROW(call_performance_threshold(t, 0, 0, perfect, 0.5), std::invalid_argument);
}

TEST(CostCurve, CallPerformanceThresholdOfPoints) {
  CurvePoint p1, p2, p3;
  p1.accuracy = 0.6, p1.share = {0.8, 0.2};
  p2.accuracy = 0.8, p2.share = {0.6, 0.4};
  p3.accuracy = 1.0, p3.share = {0.0, 1.0};
  // weak 0.5, strong 1.0: 50% of the gap is 0.75 -> p2 (40% strong); 80% is 0.9 -> p3.
  EXPECT_DOUBLE_EQ(*call_performance_threshold({p1, p2, p3}, 0.5, 1.0, 1, 0.5), 0.4);
  EXPECT_DOUBLE_EQ(*call_performance_threshold({p1, p2, p3}, 0.5, 1.0, 1, 0.8), 1.0);
  EXPECT_FALSE(call_performance_threshold({p1}, 0.5, 1.0, 1, 0.5).has_value());
}

TEST(CostCurve, RejectsBadTables) {
  OutcomeTable t = two_models();
  t.score[0] = 1.5;
  EXPECT_THROW(check_table(t), std::invalid_argument);
  t = two_models();
  t.cost.pop_back();
  EXPECT_THROW(check_table(t), std::invalid_argument);
  t = two_models();
  t.cost[1] = -1;
  EXPECT_THROW(single_model(t, 0), std::invalid_argument);
  EXPECT_THROW(check_table(OutcomeTable{}), std::invalid_argument);
}
