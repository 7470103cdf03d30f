// The evaluation: ranking metrics and rating errors against hand-computed values, the splits, and
// the popularity baseline.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "recsys_test_support.h"
#include "tandem/models/recsys/recsys_metrics.h"

namespace tandem::models::recsys {
namespace {

using datasets::Rating;
using List = std::vector<std::uint32_t>;

double inv_log2(double place) {
  return 1.0 / std::log2(place + 1.0);
}

TEST(RecsysMetrics, HandComputedRankingMetrics) {
  // Hits at places 2 and 5 of 5; two relevant items.
  const List ranked = {1, 2, 3, 4, 5};
  const List relevant = {5, 2};
  EXPECT_DOUBLE_EQ(precision_at_k(ranked, relevant, 5), 0.4);
  EXPECT_DOUBLE_EQ(recall_at_k(ranked, relevant, 5), 1.0);
  EXPECT_DOUBLE_EQ(ndcg_at_k(ranked, relevant, 5),
                   (inv_log2(2) + inv_log2(5)) / (inv_log2(1) + inv_log2(2)));
  // Cut at 3: only the hit at place 2 counts.
  EXPECT_DOUBLE_EQ(precision_at_k(ranked, relevant, 3), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(recall_at_k(ranked, relevant, 3), 0.5);
  EXPECT_DOUBLE_EQ(ndcg_at_k(ranked, relevant, 3), inv_log2(2) / (inv_log2(1) + inv_log2(2)));
  // One held-out item at place 1 (leave-last-out): P = 1/k, R = 1, NDCG = 1.
  EXPECT_DOUBLE_EQ(precision_at_k(List{9, 1}, List{9}, 10), 0.1);
  EXPECT_DOUBLE_EQ(recall_at_k(List{9, 1}, List{9}, 10), 1.0);
  EXPECT_DOUBLE_EQ(ndcg_at_k(List{9, 1}, List{9}, 10), 1.0);
  // ... at place 3: NDCG = 1 / log2(4) = 0.5.
  EXPECT_DOUBLE_EQ(ndcg_at_k(List{7, 8, 9}, List{9}, 10), 0.5);
}

TEST(RecsysMetrics, EdgeCases) {
  // No relevant item, k = 0, empty list: 0, never NaN.
  EXPECT_EQ(precision_at_k(List{1, 2}, List{}, 10), 0.0);
  EXPECT_EQ(ndcg_at_k(List{1, 2}, List{}, 10), 0.0);
  EXPECT_EQ(recall_at_k(List{1, 2}, List{1}, 0), 0.0);
  EXPECT_EQ(ndcg_at_k(List{}, List{1}, 10), 0.0);
  // A short list is not padded: precision still divides by k.
  EXPECT_DOUBLE_EQ(precision_at_k(List{4}, List{4}, 10), 0.1);
  // More relevant items than k: the ideal DCG has k hits, so a perfect list scores 1.
  const List relevant = {1, 2, 3, 4, 5, 6};
  EXPECT_DOUBLE_EQ(ndcg_at_k(List{6, 5, 4}, relevant, 3), 1.0);
  EXPECT_DOUBLE_EQ(recall_at_k(List{6, 5, 4}, relevant, 3), 0.5);
  // An item repeated in the list counts once (the later copy is a miss), and a repeated
  // relevant item is one item.
  EXPECT_DOUBLE_EQ(precision_at_k(List{3, 3, 4}, List{3, 4}, 2), 0.5);
  EXPECT_DOUBLE_EQ(ndcg_at_k(List{3, 3, 4}, List{3, 4}, 2), 1.0 / (1.0 + inv_log2(2)));
  EXPECT_DOUBLE_EQ(recall_at_k(List{3}, List{3, 3}, 5), 1.0);
  // All places hit.
  EXPECT_DOUBLE_EQ(ndcg_at_k(List{1, 2}, List{2, 1}, 2), 1.0);
  EXPECT_DOUBLE_EQ(precision_at_k(List{1, 2}, List{2, 1}, 2), 1.0);
}

TEST(RecsysMetrics, TiedScoresAreRankedBySmallerIdSoMetricsAreStable) {
  // Items 5 and 8 tie for user 20 of the tiny model (both score exactly 0): the ranking, and so
  // every metric computed from it, does not depend on anything but the ids.
  const MfModel model(testing::tiny_parameters());
  const auto top = model.top_n(20, 4);
  const List ranked = {top[0].item, top[1].item, top[2].item, top[3].item};
  EXPECT_EQ(ranked, (List{3, 8, 1, 5}));
  EXPECT_DOUBLE_EQ(ndcg_at_k(ranked, List{5}, 4), inv_log2(4));
  EXPECT_DOUBLE_EQ(ndcg_at_k(ranked, List{1}, 3), inv_log2(3));
  EXPECT_DOUBLE_EQ(ndcg_at_k(ranked, List{5}, 3), 0.0);
}

TEST(RecsysMetrics, RatingErrors) {
  const std::vector<Rating> test = {{1, 1, 1.0f, 0}, {1, 2, 5.0f, 0}, {2, 1, 3.0f, 0}};
  const RatingErrors e = rating_errors([](std::uint32_t, std::uint32_t) { return 3.0f; }, test);
  EXPECT_DOUBLE_EQ(e.rmse, std::sqrt(8.0 / 3.0));
  EXPECT_DOUBLE_EQ(e.mae, 4.0 / 3.0);
  EXPECT_EQ(e.count, 3u);
  EXPECT_THROW(rating_errors([](std::uint32_t, std::uint32_t) { return 3.0f; }, {}), RecsysError);
}

TEST(RecsysMetrics, EvaluateRankingAveragesOverUsersWithRelevantItems) {
  // User 1: relevant {10} ranked first (NDCG 1); user 2: relevant {20, 21}, 21 at place 2;
  // user 3 has only a low rating, skipped with a relevance threshold of 3.
  const std::vector<Rating> test = {
      {1, 10, 5.0f, 0}, {2, 20, 4.0f, 0}, {2, 21, 4.0f, 0}, {3, 30, 1.0f, 0}};
  const Ranker ranker = [](std::uint32_t user, std::size_t) -> List {
    if (user == 1) return {10, 11};
    if (user == 2) return {22, 21};
    return {30};
  };
  const RankingScores all = evaluate_ranking(ranker, test, 2);
  EXPECT_EQ(all.users, 3u);
  EXPECT_DOUBLE_EQ(all.hit_rate, 1.0);
  const RankingScores liked = evaluate_ranking(ranker, test, 2, 3.0f);
  EXPECT_EQ(liked.users, 2u);
  EXPECT_DOUBLE_EQ(liked.precision, (0.5 + 0.5) / 2);
  EXPECT_DOUBLE_EQ(liked.recall, (1.0 + 0.5) / 2);
  EXPECT_DOUBLE_EQ(liked.ndcg, (1.0 + inv_log2(2) / (1.0 + inv_log2(2))) / 2);
  EXPECT_THROW(evaluate_ranking(ranker, test, 2, 9.0f), RecsysError);
  EXPECT_THROW(evaluate_ranking(ranker, test, 0), RecsysError);
}

TEST(RecsysMetrics, RandomSplitIsSeededAndComplete) {
  const auto data = testing::low_rank_ratings(30, 40, 2, 0.5, 0.1, 4);
  const Split a = random_split(data, 0.2, 42);
  EXPECT_EQ(a.test.size(), static_cast<std::size_t>(std::llround(data.size() * 0.2)));
  EXPECT_EQ(a.train.size() + a.test.size(), data.size());
  // Every rating lands in exactly one part (timestamps are unique in this data).
  std::vector<std::int64_t> seen;
  for (const auto& r : a.train) seen.push_back(r.timestamp);
  for (const auto& r : a.test) seen.push_back(r.timestamp);
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(std::adjacent_find(seen.begin(), seen.end()), seen.end());
  const Split b = random_split(data, 0.2, 42);
  ASSERT_EQ(a.test.size(), b.test.size());
  for (std::size_t k = 0; k < a.test.size(); ++k)
    EXPECT_EQ(a.test[k].timestamp, b.test[k].timestamp);
  const Split c = random_split(data, 0.2, 43);
  bool differs = false;
  for (std::size_t k = 0; k < a.test.size(); ++k)
    differs |= a.test[k].timestamp != c.test[k].timestamp;
  EXPECT_TRUE(differs);
  EXPECT_THROW(random_split(data, 0.0, 1), RecsysError);
  EXPECT_THROW(random_split(data, 1.0, 1), RecsysError);
  EXPECT_THROW(random_split(data, std::nan(""), 1), RecsysError);
}

TEST(RecsysMetrics, LeaveLastOutTakesEachUsersLatest) {
  const std::vector<Rating> data = {
      {1, 10, 4.0f, 300}, {1, 11, 3.0f, 100}, {1, 12, 5.0f, 200},  // latest: 10
      {2, 20, 4.0f, 500}, {2, 21, 2.0f, 500}, {2, 19, 1.0f, 100},  // tie at 500: larger id 21
      {3, 30, 4.0f, 100},                                          // one rating: stays in train
  };
  const Split s = leave_last_out(data);
  ASSERT_EQ(s.test.size(), 2u);
  EXPECT_EQ(s.test[0].item, 10u);
  EXPECT_EQ(s.test[1].item, 21u);
  EXPECT_EQ(s.train.size(), 5u);
  // The input order does not matter.
  std::vector<Rating> reversed(data.rbegin(), data.rend());
  const Split r = leave_last_out(reversed);
  ASSERT_EQ(r.test.size(), 2u);
  EXPECT_EQ(r.test[0].item + r.test[1].item, 31u);
  const Split two = leave_last_out(data, 2);
  EXPECT_EQ(two.test.size(), 4u);
  EXPECT_THROW(leave_last_out(data, 0), RecsysError);
}

TEST(RecsysMetrics, PopularityBaseline) {
  // Item 7 has 3 ratings, 8 has 2, 9 and 6 have 1.
  const std::vector<Rating> train = {{1, 7, 5.0f, 0}, {2, 7, 4.0f, 0}, {3, 7, 3.0f, 0},
                                     {1, 8, 2.0f, 0}, {2, 8, 2.0f, 0}, {3, 9, 1.0f, 0},
                                     {3, 6, 1.0f, 0}};
  const PopularityBaseline base(train, 1.0f);
  EXPECT_EQ(base.top_n(99, 4), (List{7, 8, 6, 9}));
  EXPECT_EQ(base.top_n(1, 4), (List{6, 9}));  // user 1 rated 7 and 8
  EXPECT_EQ(base.top_n(3, 1), (List{8}));
  const double mean = 18.0 / 7.0;
  EXPECT_NEAR(base.predict(1, 7), (12.0 + mean) / 4.0, 1e-6);
  EXPECT_NEAR(base.predict(1, 42), mean, 1e-6);
  EXPECT_THROW(PopularityBaseline(std::vector<Rating>{}), RecsysError);
  const std::vector<Rating> nan = {{1, 1, std::nanf(""), 0}};
  EXPECT_THROW(PopularityBaseline{nan}, RecsysError);
}

TEST(RecsysMetrics, EvaluateUsesTheModelsOwnTrainingDataForTheBaseline) {
  const MfModel model(testing::tiny_parameters());
  // Test: user 10 rated item 2 (4.0) and an unknown item 4 (3.0); unknown user 99 rated 1.
  const std::vector<Rating> test = {{10, 2, 4.0f, 0}, {10, 4, 3.0f, 0}, {99, 1, 2.0f, 0}};
  const RecsysReport r = evaluate(model, test, {2, std::nullopt});
  ASSERT_TRUE(r.model_errors);
  EXPECT_EQ(r.model_errors->unknown_items, 1u);
  EXPECT_EQ(r.model_errors->unknown_users, 1u);
  // Predictions 3.9, 3.0 (mean), 3.0 (mean + item 1's zero bias).
  EXPECT_NEAR(r.model_errors->rmse, std::sqrt((0.01 + 0.0 + 1.0) / 3.0), 1e-6);
  // User 10's top 2 = (2, 8): a hit at place 1 of its 2 relevant items; user 99 gets the
  // popular items (1, 2): a hit at place 1.
  EXPECT_EQ(r.model_ranking.users, 2u);
  EXPECT_DOUBLE_EQ(r.model_ranking.recall, (0.5 + 1.0) / 2);
  // The baseline knows items 1, 2, 3 (those with interactions) and leaves out what user 10
  // rated (1, 3): (2); for 99: (1, 2).
  EXPECT_DOUBLE_EQ(r.baseline_ranking.recall, (0.5 + 1.0) / 2);
  MfParameters p = testing::tiny_parameters();
  p.feedback = Feedback::kImplicit;
  EXPECT_FALSE(evaluate(MfModel(p), test).model_errors);
  EXPECT_THROW(evaluate(model, {}), RecsysError);
}

}  // namespace
}  // namespace tandem::models::recsys
