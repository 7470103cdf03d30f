// The task policy's decisions: the decision table, sticky splits, cascades and fallbacks.
#include "tandem/routing/policy.h"

#include <gtest/gtest.h>

#include <map>

namespace tandem::routing {
namespace {

config::RuleConfig rule(std::vector<std::string> use) {
  config::RuleConfig r;
  r.use = std::move(use);
  return r;
}

EffectivePolicy cascade() {
  EffectivePolicy p;
  p.kind = "cascade";
  p.variants = {"cheap", "mid", "strong"};
  p.thresholds = {0.9, 0.7};
  p.fallback = {"strong", "backup"};
  return p;
}

TEST(Policy, RuleConditionsNeedTheAttributeTheyTest) {
  config::RuleConfig high = rule({"strong"});
  high.stakes = {"high"};
  core::RequestContext c;
  EXPECT_FALSE(rule_matches(high, c));  // said nothing about stakes
  c.stakes = "high";
  EXPECT_TRUE(rule_matches(high, c));
  c.stakes = "low";
  EXPECT_FALSE(rule_matches(high, c));

  config::RuleConfig fast = rule({"cheap"});
  fast.latency_budget_below_ms = 100;
  c = {};
  EXPECT_FALSE(rule_matches(fast, c));
  c.latency_budget_ms = 50;
  EXPECT_TRUE(rule_matches(fast, c));
  c.latency_budget_ms = 100;
  EXPECT_FALSE(rule_matches(fast, c));

  config::RuleConfig big = rule({"strong"});
  big.input_chars_above = 1000;
  big.languages = {"de", "fr"};
  c = {};
  c.input_chars = 2000;
  EXPECT_FALSE(rule_matches(big, c));
  c.language = "fr";
  EXPECT_TRUE(rule_matches(big, c));
  c.input_chars = 1000;
  EXPECT_FALSE(rule_matches(big, c));

  config::RuleConfig explain = rule({"cheap"});
  explain.explain = true;
  c = {};
  EXPECT_FALSE(rule_matches(explain, c));
  c.explain = true;
  EXPECT_TRUE(rule_matches(explain, c));
  config::RuleConfig low = rule({"cheap"});
  low.resources = {"low"};
  c.resources = "low";
  EXPECT_TRUE(rule_matches(low, c));
  EXPECT_EQ(describe_rule(0, big), "rule 1 (input_chars>1000, language=de|fr)");

  // Only rules that test the language make the gateway detect an undeclared one.
  EXPECT_FALSE(rules_test_language({}));
  EXPECT_FALSE(rules_test_language({high, fast, explain, low}));
  EXPECT_TRUE(rules_test_language({high, big}));
}

TEST(Policy, FirstMatchingRuleWinsAndTheRestOfItsListFallsBack) {
  std::vector<config::RuleConfig> rules{rule({"strong", "mid"}), rule({"cheap"})};
  rules[0].stakes = {"high"};
  rules[1].explain = true;
  core::RequestContext c;
  c.stakes = "high";
  c.explain = true;
  RoutePlan plan = plan_route("t", rules, cascade(), c, 0.5, {});
  EXPECT_EQ(plan.policy, "rule");
  EXPECT_EQ(plan.reason, "rule 1 (stakes=high)");
  ASSERT_EQ(plan.stages.size(), 1u);
  EXPECT_EQ(plan.stages[0].variant, "strong");
  EXPECT_FALSE(plan.stages[0].threshold);
  // The rule's other variants, then the policy's fallbacks not already used.
  EXPECT_EQ(plan.fallback, (std::vector<std::string>{"mid", "backup"}));
}

TEST(Policy, CascadeStagesCarryTheirThresholdsAndTheLastHasNone) {
  RoutePlan plan = plan_route("t", {}, cascade(), {}, 0.5, {});
  EXPECT_EQ(plan.policy, "cascade");
  ASSERT_EQ(plan.stages.size(), 3u);
  EXPECT_EQ(plan.stages[0].threshold, 0.9);
  EXPECT_EQ(plan.stages[1].threshold, 0.7);
  EXPECT_FALSE(plan.stages[2].threshold);
  EXPECT_EQ(plan.fallback, std::vector<std::string>{"backup"});  // "strong" already ran
}

TEST(Policy, SplitIsStickyPerUserAndFollowsTheWeights) {
  std::vector<double> weights{3, 1};
  std::map<std::size_t, int> counts;
  for (int u = 0; u < 4000; ++u) {
    std::string user = "user-" + std::to_string(u);
    std::size_t arm = split_arm(weights, "t", user, 0.0);
    EXPECT_EQ(arm, split_arm(weights, "t", user, 0.99));  // the random draw is ignored
    ++counts[arm];
  }
  EXPECT_NEAR(counts[0] / 4000.0, 0.75, 0.03);
  // Without a user, the draw decides; a zero weight is never chosen.
  EXPECT_EQ(split_arm({1, 1}, "t", "", 0.25), 0u);
  EXPECT_EQ(split_arm({1, 1}, "t", "", 0.75), 1u);
  EXPECT_EQ(split_arm({0, 1, 0}, "t", "", 0.0), 1u);
  EXPECT_EQ(split_arm({1, 0}, "t", "", 0.999999), 0u);
  // Another task splits its users independently.
  int same = 0;
  for (int u = 0; u < 1000; ++u) {
    std::string user = "user-" + std::to_string(u);
    same += split_arm({1, 1}, "a", user, 0) == split_arm({1, 1}, "b", user, 0);
  }
  EXPECT_NEAR(same / 1000.0, 0.5, 0.07);
}

TEST(Policy, RouterAndSinglePickOneVariant) {
  EffectivePolicy router;
  router.kind = "router";
  router.variants = {"a", "b", "c"};
  router.fallback = {"a"};
  RoutePlan plan = plan_route("t", {}, router, {}, 0.5, [] { return std::size_t{2}; });
  ASSERT_EQ(plan.stages.size(), 1u);
  EXPECT_EQ(plan.stages[0].variant, "c");
  EXPECT_EQ(plan.fallback, std::vector<std::string>{"a"});
  EffectivePolicy single;
  single.variants = {"only"};
  plan = plan_route("t", {}, single, {}, 0.5, {});
  EXPECT_EQ(plan.policy, "single");
  EXPECT_EQ(plan.stages[0].variant, "only");
  EXPECT_TRUE(plan.fallback.empty());
}

}  // namespace
}  // namespace tandem::routing
