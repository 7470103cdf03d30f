// The learned router on synthetic data where the right model is predictable from a keyword.
#include "tandem/routing/learned_router.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <stdexcept>

#include "tandem/models/artifact.h"

using namespace tandem::routing;

namespace {

// Model 0 (cheap) is right on "easy" questions, wrong on "hard" ones (with 10% label noise);
// model 1 (dear) is right 90% of the time regardless.
std::vector<RouterExample> synthetic(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  const std::vector<std::string> fillers{"apple", "river",  "number", "planet", "history",
                                         "music", "engine", "forest", "metal",  "cloud"};
  std::vector<RouterExample> out;
  for (std::size_t i = 0; i < n; ++i) {
    const bool hard = u(rng) < 0.5;
    std::string text = hard ? "a hard question about" : "an easy question about";
    for (int w = 0; w < 8; ++w) text += " " + fillers[rng() % fillers.size()];
    RouterExample e;
    e.text = text;
    const bool cheap_right = (u(rng) < 0.1) ? hard : !hard;
    e.correct = {cheap_right ? 1.0 : 0.0, u(rng) < 0.9 ? 1.0 : 0.0};
    e.cost = {0.001, 0.01};
    out.push_back(std::move(e));
  }
  return out;
}

RouterOptions two_models() {
  RouterOptions o;
  o.models = {"cheap", "dear"};
  o.seed = 5;
  return o;
}

}  // namespace

TEST(LearnedRouter, LearnsWhichModelIsRightFromTheText) {
  const TrainedRouter t = train_router(synthetic(400, 1), two_models());
  const RouterModel& r = t.model;
  ASSERT_EQ(r.models().size(), 2u);
  EXPECT_NEAR(r.mean_costs()[0], 0.001, 1e-12);
  EXPECT_NEAR(r.mean_costs()[1], 0.01, 1e-12);
  const auto easy = r.predict("an easy question about music and clouds");
  const auto hard = r.predict("a hard question about music and clouds");
  EXPECT_GT(easy[0], 0.75);
  EXPECT_LT(hard[0], 0.25);
  EXPECT_NEAR(easy[1], 0.9, 0.1);
  // Out-of-fold figures: the cheap head is far better than chance, the dear one is not.
  EXPECT_GT(t.report.models[0].auc, 0.85);
  EXPECT_LT(t.report.models[0].log_loss, t.report.models[0].base_log_loss);
  EXPECT_NEAR(t.report.models[0].base_rate, 0.5, 0.1);
  // Routing: a balanced knob sends easy questions to the cheap model and hard ones to the dear.
  EXPECT_EQ(r.choose("an easy question about rivers", 0.3), 0u);
  EXPECT_EQ(r.choose("a hard question about rivers", 0.3), 1u);
  // The knob's ends: best predicted quality, and the cheapest.
  EXPECT_EQ(r.choose("an easy question about rivers", 1.0), 0u);
  EXPECT_EQ(r.choose("a hard question about rivers", 0.0), 1u);
  // Costs given per call override the recorded ones.
  EXPECT_EQ(r.choose("a hard question about rivers", 0.3, {0.01, 0.001}), 1u);
  EXPECT_THROW(r.choose("x", 0.5, {1.0}), std::invalid_argument);
  EXPECT_THROW(r.choose("x", 1.5), std::invalid_argument);
  // Unknown or empty text gets the prior, never a crash.
  EXPECT_EQ(r.predict("").size(), 2u);
  EXPECT_EQ(r.predict("\xff\xfe zzz qqq").size(), 2u);
}

TEST(LearnedRouter, TheTwoRulesAtTheirEnds) {
  const std::vector<double> p{0.6, 0.7, 0.9};
  const std::vector<double> c{1, 2, 10};
  EXPECT_EQ(RouterModel::choose_model(p, 0.0, c, RoutingRule::utility), 2u);
  EXPECT_EQ(RouterModel::choose_model(p, 1.0, c, RoutingRule::utility), 0u);
  EXPECT_EQ(RouterModel::choose_model(p, 0.0, c, RoutingRule::slack), 2u);
  EXPECT_EQ(RouterModel::choose_model(p, 0.25, c, RoutingRule::slack), 1u);  // 0.7 >= 0.65
  EXPECT_EQ(RouterModel::choose_model(p, 1.0, c, RoutingRule::slack), 0u);
  // utility (1-w) p - w c / 10: w = 0.1 gives 0.53, 0.61, 0.71; w = 0.3 gives 0.39, 0.43, 0.33.
  EXPECT_EQ(RouterModel::choose_model(p, 0.1, c, RoutingRule::utility), 2u);
  EXPECT_EQ(RouterModel::choose_model(p, 0.3, c, RoutingRule::utility), 1u);
}

TEST(LearnedRouter, SavesAndLoadsTheSamePredictions) {
  const TrainedRouter t = train_router(synthetic(200, 2), two_models());
  const std::string path = ::testing::TempDir() + "/router_roundtrip.tandem";
  tandem::models::ArtifactMeta meta;
  meta.metrics["auc_cheap"] = t.report.models[0].auc;
  t.model.save(path, meta);
  const RouterModel loaded = RouterModel::load(path);
  EXPECT_EQ(loaded.models(), t.model.models());
  EXPECT_EQ(loaded.features(), t.model.features());
  const std::string q = "a hard question about planets";
  EXPECT_EQ(loaded.predict(q), t.model.predict(q));
  EXPECT_EQ(tandem::models::read_artifact_meta(path).kind, "router");
  std::filesystem::remove(path);
}

TEST(LearnedRouter, RejectsCorruptPayloadsAndBadTraining) {
  const TrainedRouter t = train_router(synthetic(100, 3), two_models());
  const std::string payload = t.model.encode_payload();
  EXPECT_THROW(RouterModel::from_payload(payload.substr(0, payload.size() - 3)), RouterError);
  EXPECT_THROW(RouterModel::from_payload("garbage"), RouterError);
  std::string huge = payload;
  huge[31] = '\x7f';  // the feature count's high byte (offset 24, u64)
  EXPECT_THROW(RouterModel::from_payload(huge), RouterError);
  EXPECT_THROW(train_router({}, two_models()), std::invalid_argument);
  auto bad = synthetic(50, 4);
  bad[3].correct = {1.0};
  EXPECT_THROW(train_router(bad, two_models()), std::invalid_argument);
  bad = synthetic(50, 4);
  for (auto& e : bad) e.correct[1].reset();
  EXPECT_THROW(train_router(bad, two_models()), std::invalid_argument);
}
