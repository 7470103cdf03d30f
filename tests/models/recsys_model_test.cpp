// MfModel's queries on a hand-made model whose answers are worked out by hand
// (recsys_test_support.h), and its refusal of inconsistent parameters.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "recsys_test_support.h"
#include "tandem/models/recsys/mf_model.h"

namespace tandem::models::recsys {
namespace {

using testing::tiny_parameters;

std::vector<std::uint32_t> ids(const std::vector<ScoredItem>& items) {
  std::vector<std::uint32_t> out;
  for (const auto& s : items) out.push_back(s.item);
  return out;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const RecsysError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(RecsysModel, TopNExcludesRatedItemsAndRanksByPrediction) {
  const MfModel model(tiny_parameters());
  // User 10 = (1, 0) rated items 1 and 3; scores 2: 0.9, 8: 0.5 + 0.25 bias, 5: -1.
  const auto top = model.top_n(10, 10);
  EXPECT_EQ(ids(top), (std::vector<std::uint32_t>{2, 8, 5}));
  EXPECT_FLOAT_EQ(top[0].score, 3.9f);
  EXPECT_FLOAT_EQ(top[1].score, 3.75f);
  EXPECT_FLOAT_EQ(top[2].score, 2.0f);
  for (const auto& s : top) EXPECT_FLOAT_EQ(s.score, model.predict(10, s.item));
  EXPECT_EQ(ids(model.top_n(10, 1)), (std::vector<std::uint32_t>{2}));
  EXPECT_TRUE(model.top_n(10, 0).empty());
}

TEST(RecsysModel, TopNBreaksTiesBySmallerId) {
  const MfModel model(tiny_parameters());
  // User 20 = (0, 1) rated item 2: 3 (1), 8 (0.75), then 1 and 5 both exactly 0.
  const auto top = model.top_n(20, 4);
  EXPECT_EQ(ids(top), (std::vector<std::uint32_t>{3, 8, 1, 5}));
  EXPECT_EQ(top[2].score, top[3].score);
}

TEST(RecsysModel, TopNAgreesWithAFullSortOnARandomModel) {
  // 40 users x 300 items, 8 factors, random values: the heap selection must return exactly the
  // best n of a full sort (score desc, id asc), without the rated items.
  detail::Random random(5);
  MfParameters p;
  p.feedback = Feedback::kImplicit;
  for (std::uint32_t u = 0; u < 40; ++u) p.user_ids.push_back(3 * u + 1);
  for (std::uint32_t i = 0; i < 300; ++i) p.item_ids.push_back(2 * i + 7);
  p.user_factors.resize(8, 40);
  p.item_factors.resize(8, 300);
  for (Eigen::Index x = 0; x < p.user_factors.size(); ++x) {
    p.user_factors.data()[x] = static_cast<float>(random.normal());
  }
  for (Eigen::Index x = 0; x < p.item_factors.size(); ++x) {
    // Rounded to quarters so that ties happen.
    p.item_factors.data()[x] = std::round(static_cast<float>(random.normal()) * 4) / 4;
  }
  p.user_bias = Eigen::VectorXf::Zero(40);
  p.item_bias = Eigen::VectorXf::Zero(300);
  p.user_offsets.push_back(0);
  for (std::uint32_t u = 0; u < 40; ++u) {
    for (std::uint32_t i = 0; i < 300; ++i) {
      if (random.below(4) == 0) {
        p.rated_items.push_back(i);
        p.rated_values.push_back(1.0f);
      }
    }
    p.user_offsets.push_back(p.rated_items.size());
  }
  const MfModel model(p);
  for (std::uint32_t u = 0; u < 40; ++u) {
    const std::uint32_t user = p.user_ids[u];
    std::vector<ScoredItem> all;
    const auto rated = model.rated_by(user);
    for (std::uint32_t i = 0; i < 300; ++i) {
      const std::uint32_t item = p.item_ids[i];
      if (std::any_of(rated.begin(), rated.end(), [&](const auto& r) { return r.item == item; })) {
        continue;
      }
      all.push_back({item, model.predict(user, item)});
    }
    std::sort(all.begin(), all.end(), [](const ScoredItem& a, const ScoredItem& b) {
      return a.score > b.score || (a.score == b.score && a.item < b.item);
    });
    for (std::size_t n : {1u, 10u, 57u}) {
      const auto top = model.top_n(user, n);
      ASSERT_EQ(top.size(), std::min(n, all.size()));
      for (std::size_t k = 0; k < top.size(); ++k) {
        EXPECT_EQ(top[k].item, all[k].item) << "user " << user << " n " << n << " place " << k;
        EXPECT_NEAR(top[k].score, all[k].score, 1e-5f);
      }
    }
  }
}

TEST(RecsysModel, UnknownUserGetsPopularItems) {
  const MfModel model(tiny_parameters());
  // Counts: items 1, 2, 3 once each, 5 and 8 never; ties by id.
  const Recommendation r = model.recommend(99, 2);
  EXPECT_TRUE(r.popularity_fallback);
  EXPECT_EQ(ids(r.items), (std::vector<std::uint32_t>{1, 2}));
  EXPECT_FLOAT_EQ(r.items[0].score, 1.0f);
  const Recommendation known = model.recommend(10, 2);
  EXPECT_FALSE(known.popularity_fallback);
  EXPECT_EQ(ids(known.items), (std::vector<std::uint32_t>{2, 8}));
  EXPECT_EQ(ids(model.popular(3, 10)), (std::vector<std::uint32_t>{2, 5, 8}));
  EXPECT_EQ(ids(model.popular(9)), (std::vector<std::uint32_t>{1, 2, 3, 5, 8}));
  EXPECT_NE(error_of([&] { model.top_n(99, 3); }).find("unknown user 99"), std::string::npos);
}

TEST(RecsysModel, SimilarItemsByCosine) {
  const MfModel model(tiny_parameters());
  const auto sim = model.similar_items(1, 4);
  EXPECT_EQ(ids(sim), (std::vector<std::uint32_t>{2, 8, 3, 5}));
  EXPECT_NEAR(sim[0].score, 0.9 / std::sqrt(0.82), 1e-6);
  EXPECT_NEAR(sim[1].score, std::sqrt(0.5), 1e-6);
  EXPECT_NEAR(sim[2].score, 0.0, 1e-6);
  EXPECT_NEAR(sim[3].score, -1.0, 1e-6);
  EXPECT_NE(error_of([&] { model.similar_items(4, 3); }).find("unknown item 4"), std::string::npos);
}

TEST(RecsysModel, ExplanationNamesLikedSimilarRatedItems) {
  const MfModel model(tiny_parameters());
  // User 10 rated 1 (5.0) and 3 (2.0), mean 3.5: only item 1 was liked; it is close to item 2.
  const auto why = model.explain(10, 2);
  ASSERT_EQ(why.size(), 1u);
  EXPECT_EQ(why[0].item, 1u);
  EXPECT_FLOAT_EQ(why[0].rating, 5.0f);
  EXPECT_NEAR(why[0].similarity, 0.9 / std::sqrt(0.82), 1e-6);
  EXPECT_NEAR(why[0].weight, why[0].similarity * 5.0 / 5.0, 1e-6);
  // User 20 rated 2 (4.0): it explains item 8 with weight similarity x 4/5.
  const auto why8 = model.explain(20, 8);
  ASSERT_EQ(why8.size(), 1u);
  EXPECT_EQ(why8[0].item, 2u);
  EXPECT_NEAR(why8[0].similarity, 0.5 / (std::sqrt(0.5) * std::sqrt(0.82)), 1e-6);
  EXPECT_NEAR(why8[0].weight, why8[0].similarity * 0.8, 1e-6);
  // Item 5 points away from everything user 10 liked: no reason is given rather than a bad one.
  EXPECT_TRUE(model.explain(10, 5).empty());
  // A user with no ratings has nothing to explain with.
  EXPECT_TRUE(model.explain(30, 2).empty());
  EXPECT_NE(error_of([&] { model.explain(99, 2); }).find("unknown user 99"), std::string::npos);
  EXPECT_NE(error_of([&] { model.explain(10, 4); }).find("unknown item 4"), std::string::npos);
}

TEST(RecsysModel, ExplanationIsSortedByWeightAndCut) {
  MfParameters p = tiny_parameters();
  // User 30 now rated items 1 (5.0), 2 (4.5) and 5 (3.0), mean 4.17: 5 is below it. For item 8,
  // item 2 is more similar (0.781) than item 1 (0.707), but item 1 was rated higher:
  // weights 0.707 x 5/5 = 0.7071 and 0.781 x 4.5/5 = 0.7028.
  p.user_offsets = {0, 2, 3, 6};
  p.rated_items = {0, 2, 1, 0, 1, 3};
  p.rated_values = {5.0f, 2.0f, 4.0f, 5.0f, 4.5f, 3.0f};
  const MfModel model(p);
  const auto why = model.explain(30, 8, 5);
  ASSERT_EQ(why.size(), 2u);
  EXPECT_EQ(why[0].item, 1u);
  EXPECT_EQ(why[1].item, 2u);
  EXPECT_NEAR(why[0].weight, std::sqrt(0.5), 1e-6);
  EXPECT_NEAR(why[1].weight, 0.9 * 0.5 / (std::sqrt(0.5) * std::sqrt(0.82)), 1e-6);
  EXPECT_EQ(model.explain(30, 8, 1).size(), 1u);
}

TEST(RecsysModel, PredictFallsBackToBiasesAndClamps) {
  MfParameters p = tiny_parameters();
  p.user_bias[0] = 0.5f;
  const MfModel model(p);
  EXPECT_FLOAT_EQ(model.predict(10, 2), 4.4f);
  EXPECT_FLOAT_EQ(model.predict(10, 4), 3.5f);   // unknown item: mean + user bias
  EXPECT_FLOAT_EQ(model.predict(99, 8), 3.25f);  // unknown user: mean + item bias
  EXPECT_FLOAT_EQ(model.predict(99, 4), 3.0f);
  p.user_factors(0, 0) = 10.0f;
  const MfModel big(p);
  EXPECT_FLOAT_EQ(big.predict(10, 1), 5.0f);
  EXPECT_FLOAT_EQ(big.predict(10, 5), 0.5f);
  EXPECT_FLOAT_EQ(big.top_n(10, 1)[0].score, 5.0f);
}

TEST(RecsysModel, ImplicitPredictIsTheDotProduct) {
  MfParameters p = tiny_parameters();
  p.feedback = Feedback::kImplicit;
  const MfModel model(p);
  EXPECT_FLOAT_EQ(model.predict(10, 2), 0.9f);
  EXPECT_FLOAT_EQ(model.predict(99, 2), 0.0f);
  // No bias in implicit mode: item 8 scores 0.5, not 0.75.
  const auto top = model.top_n(20, 2);
  EXPECT_EQ(ids(top), (std::vector<std::uint32_t>{3, 8}));
  EXPECT_FLOAT_EQ(top[1].score, 0.5f);
}

TEST(RecsysModel, RefusesInconsistentParameters) {
  const auto refuse = [](const std::function<void(MfParameters&)>& change,
                         const std::string& expected) {
    MfParameters p = tiny_parameters();
    change(p);
    const std::string message = error_of([&] { MfModel m(std::move(p)); });
    EXPECT_NE(message.find(expected), std::string::npos) << message;
  };
  refuse(
      [](MfParameters& p) {
        p.user_ids = {10, 10, 30};
      },
      "user ids are not strictly increasing");
  refuse(
      [](MfParameters& p) {
        p.item_ids = {1, 2, 3, 8, 5};
      },
      "item ids are not strictly increasing");
  refuse([](MfParameters& p) { p.item_factors(1, 3) = std::nanf(""); }, "not all finite");
  refuse([](MfParameters& p) { p.user_bias[1] = INFINITY; }, "not all finite");
  refuse(
      [](MfParameters& p) {
        p.user_factors.resize(3, 3);
        p.user_factors.setZero();
      },
      "differ in length");
  refuse([](MfParameters& p) { p.item_bias.resize(4); }, "item biases: wrong count");
  refuse([](MfParameters& p) { p.user_offsets = {0, 2, 3}; }, "not users + 1");
  refuse([](MfParameters& p) { p.user_offsets = {0, 2, 4, 3}; }, "decrease or overrun");
  refuse([](MfParameters& p) { p.rated_items = {0, 7, 1}; }, "names item index 7");
  refuse([](MfParameters& p) { p.rated_items = {2, 0, 1}; }, "not strictly increasing");
  refuse([](MfParameters& p) { p.rated_values[0] = std::nanf(""); }, "is not finite");
  refuse([](MfParameters& p) { p.user_ids.clear(); }, "no users");
  refuse([](MfParameters& p) { p.min_rating = 6; }, "rating range");
  refuse([](MfParameters& p) { p.feedback = static_cast<Feedback>(7); }, "unknown feedback");
}

TEST(RecsysModel, FeedbackNames) {
  EXPECT_EQ(to_string(Feedback::kImplicit), "implicit");
  EXPECT_EQ(feedback_from_string("explicit"), Feedback::kExplicit);
  EXPECT_THROW(feedback_from_string("both"), RecsysError);
}

}  // namespace
}  // namespace tandem::models::recsys
