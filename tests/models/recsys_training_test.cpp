// Training on small synthetic data with a known structure: the solvers must find it, the same
// seed must give the same model, and bad data or options must be refused with a clear error.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "recsys_test_support.h"
#include "tandem/models/recsys/mf_artifact.h"
#include "tandem/models/recsys/mf_training.h"
#include "tandem/models/recsys/recsys_metrics.h"

namespace tandem::models::recsys {
namespace {

using datasets::Rating;
using testing::grouped_interactions;
using testing::low_rank_ratings;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const RecsysError& e) {
    return e.what();
  }
  return "(no error)";
}

// 80 users x 100 items, 3 true factors, 30 % observed, noise 0.1: the rating spread that biases
// cannot explain (the p . q term) has a standard deviation of about 0.6.
struct LowRank : ::testing::Test {
  static void SetUpTestSuite() {
    split = new Split(random_split(low_rank_ratings(80, 100, 3, 0.3, 0.1, 11), 0.2, 3));
  }
  static void TearDownTestSuite() {
    delete split;
    split = nullptr;
  }
  static Split* split;
};
Split* LowRank::split = nullptr;

TEST_F(LowRank, GibbsRecoversTheStructure) {
  // The default noise precision (2, a rating's noise about 0.7) suits MovieLens; this data's
  // noise is 0.1, and a model told so believes the ratings more.
  TrainOptions o = TrainOptions::explicit_defaults();
  o.noise_precision = 25.0f;
  const MfModel model = train_explicit(split->train, o);
  const RecsysReport report = evaluate(model, split->test);
  ASSERT_TRUE(report.model_errors);
  // Measured 0.146 (noise 0.1; baseline 0.78): far below what biases alone explain.
  EXPECT_LT(report.model_errors->rmse, 0.25);
  EXPECT_LT(report.model_errors->rmse, 0.5 * report.baseline_errors.rmse);
  EXPECT_LT(report.model_errors->mae, report.model_errors->rmse);
}

TEST_F(LowRank, SgdRecoversTheStructure) {
  TrainOptions o = TrainOptions::sgd_defaults();
  o.factors = 8;
  o.iterations = 200;
  o.init_std = 0.1f;
  o.learning_rate = 0.02f;
  o.regularization = 0.05f;
  const MfModel model = train_explicit(split->train, o);
  const RecsysReport report = evaluate(model, split->test);
  // Measured 0.297.
  EXPECT_LT(report.model_errors->rmse, 0.4);
  EXPECT_LT(report.model_errors->rmse, 0.6 * report.baseline_errors.rmse);
}

TEST_F(LowRank, ProgressIsReportedEveryIteration) {
  TrainOptions o = TrainOptions::explicit_defaults();
  o.iterations = 12;
  o.burn_in = 4;
  std::vector<TrainProgress> seen;
  train(split->train, o, [&](const TrainProgress& p) { seen.push_back(p); });
  ASSERT_EQ(seen.size(), 12u);
  for (int k = 0; k < 12; ++k) {
    EXPECT_EQ(seen[k].iteration, k + 1);
    EXPECT_EQ(seen[k].iterations, 12);
    EXPECT_TRUE(std::isfinite(seen[k].loss));
    if (k > 0) {
      EXPECT_GE(seen[k].seconds, seen[k - 1].seconds);
    }
  }
  // Training RMSE falls from the random start.
  EXPECT_LT(seen.back().loss, seen.front().loss);
}

TEST_F(LowRank, SameSeedSameModelOtherSeedOtherModel) {
  TrainOptions o = TrainOptions::explicit_defaults();
  o.iterations = 20;
  o.burn_in = 5;
  const std::string a = encode_payload(train(split->train, o));
  const std::string b = encode_payload(train(split->train, o));
  EXPECT_EQ(a, b);
  o.seed = 43;
  EXPECT_NE(a, encode_payload(train(split->train, o)));

  TrainOptions s = TrainOptions::sgd_defaults();
  s.factors = 4;
  s.iterations = 5;
  EXPECT_EQ(encode_payload(train(split->train, s)), encode_payload(train(split->train, s)));
  TrainOptions i = TrainOptions::implicit_defaults();
  i.iterations = 3;
  EXPECT_EQ(encode_payload(train(split->train, i)), encode_payload(train(split->train, i)));
}

TEST(RecsysTraining, ImplicitFindsTasteGroups) {
  // 4 groups: users interact with 30 % of their group's items and 2 % of the others.
  const auto data = grouped_interactions(80, 80, 4, 0.3, 0.02, 21);
  TrainOptions o = TrainOptions::implicit_defaults();
  o.factors = 8;
  const MfModel model = train_implicit(data, o);
  int in_group = 0;
  int total = 0;
  for (std::uint32_t user = 1; user <= 80; ++user) {
    for (const ScoredItem& s : model.top_n(user, 5)) {
      in_group += ((user - 1) % 4 == (s.item - 1) % 4) ? 1 : 0;
      ++total;
    }
  }
  // Measured 327 of 400; popularity would put about a quarter in the group.
  EXPECT_GT(in_group, total * 7 / 10) << in_group << " of " << total;

  const Split split = leave_last_out(data, 3);
  const MfModel held = train_implicit(split.train, o);
  const RecsysReport report = evaluate(held, split.test, {5, std::nullopt});
  EXPECT_FALSE(report.model_errors);
  // Measured NDCG@5 0.132, popularity 0.018.
  EXPECT_GT(report.model_ranking.ndcg, 3 * report.baseline_ranking.ndcg);
  EXPECT_GT(report.model_ranking.recall, report.baseline_ranking.recall);
}

TEST(RecsysTraining, RefusesBadData) {
  const TrainOptions o = TrainOptions::explicit_defaults();
  const std::vector<Rating> none;
  EXPECT_NE(error_of([&] { train(none, o); }).find("no ratings"), std::string::npos);
  const std::vector<Rating> nan = {{1, 2, 4.0f, 0}, {3, 4, std::nanf(""), 0}};
  EXPECT_NE(error_of([&] { train(nan, o); }).find("rating 1 (user 3, item 4) is not a finite"),
            std::string::npos);
  const std::vector<Rating> inf = {{1, 2, INFINITY, 0}};
  EXPECT_NE(error_of([&] { train(inf, o); }).find("not a finite"), std::string::npos);
  const std::vector<Rating> twice = {{1, 2, 4.0f, 0}, {5, 2, 3.0f, 0}, {1, 2, 3.0f, 0}};
  EXPECT_NE(error_of([&] { train(twice, o); }).find("user 1 rated item 2 more than once"),
            std::string::npos);
  const std::vector<Rating> negative = {{1, 2, -1.0f, 0}};
  EXPECT_NE(error_of([&] { train(negative, TrainOptions::implicit_defaults()); }).find("negative"),
            std::string::npos);
  // One rating is enough to train on (nothing to learn, but nothing breaks).
  const std::vector<Rating> one = {{7, 9, 4.5f, 0}};
  const MfModel m = train(one, o);
  EXPECT_TRUE(m.top_n(7, 5).empty());
  EXPECT_EQ(m.recommend(8, 5).items.size(), 1u);
}

TEST(RecsysTraining, RefusesBadOptions) {
  const std::vector<Rating> data = {{1, 2, 4.0f, 0}, {2, 3, 3.0f, 0}};
  const auto refused = [&](TrainOptions o, const std::string& expected) {
    const std::string message = error_of([&] { train(data, o); });
    EXPECT_NE(message.find(expected), std::string::npos) << message;
  };
  TrainOptions o = TrainOptions::explicit_defaults();
  o.factors = 0;
  refused(o, "factors must be 1 to 1024");
  o = TrainOptions::explicit_defaults();
  o.iterations = 0;
  refused(o, "iterations must be");
  o = TrainOptions::explicit_defaults();
  o.burn_in = o.iterations;
  refused(o, "burn_in must be");
  o = TrainOptions::explicit_defaults();
  o.noise_precision = 0;
  refused(o, "noise_precision");
  o = TrainOptions::sgd_defaults();
  o.learning_rate = std::nanf("");
  refused(o, "learning_rate must be");
  o = TrainOptions::sgd_defaults();
  o.regularization = -1;
  refused(o, "regularization must be");
  o = TrainOptions::implicit_defaults();
  o.implicit_regularization = 0;
  refused(o, "implicit_regularization");
  o = TrainOptions::implicit_defaults();
  o.alpha = INFINITY;
  refused(o, "alpha");
  EXPECT_NE(error_of([&] {
              train_explicit(data, TrainOptions::implicit_defaults());
            }).find("implicit options"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              train_implicit(data, TrainOptions::explicit_defaults());
            }).find("explicit options"),
            std::string::npos);
}

TEST(RecsysTraining, SgdDivergenceIsAnErrorNotNaNs) {
  const auto data = low_rank_ratings(20, 20, 2, 0.5, 0.1, 2);
  TrainOptions o = TrainOptions::sgd_defaults();
  o.learning_rate = 0.9f;
  o.learning_rate_decay = 1.0f;
  o.init_std = 10.0f;
  EXPECT_NE(error_of([&] { train(data, o); }).find("diverged"), std::string::npos);
}

TEST(RecsysTraining, OptionsAsParams) {
  const auto p = TrainOptions::explicit_defaults().to_params();
  EXPECT_EQ(p.at("algorithm"), "gibbs");
  EXPECT_EQ(p.at("factors"), "10");
  EXPECT_EQ(p.at("seed"), "42");
  EXPECT_EQ(p.count("learning_rate"), 0u);
  const auto s = TrainOptions::sgd_defaults().to_params();
  EXPECT_EQ(s.at("algorithm"), "sgd");
  EXPECT_EQ(s.at("learning_rate"), "0.01");
  EXPECT_EQ(TrainOptions::implicit_defaults().to_params().at("alpha"), "3");
  EXPECT_EQ(solver_from_string("sgd"), ExplicitSolver::kSgd);
  EXPECT_THROW(solver_from_string("adam"), RecsysError);
}

}  // namespace
}  // namespace tandem::models::recsys
