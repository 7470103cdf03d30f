#pragma once
// A task's policy as a decision: which variants a request runs, in which order, with which
// confidence thresholds, and which variants take over when one fails. The decision table
// (rules) comes first; the task's policy (single, cascade, weighted split, learned router)
// decides when no rule matches. Pure computation: the caller runs the plan.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/config/config.h"
#include "tandem/core/request_context.h"

namespace tandem::routing {

struct PlanStage {
  std::string variant;
  // Accept this stage's answer when its confidence reaches this; none: always accept.
  std::optional<double> threshold;
};

struct RoutePlan {
  std::string policy;                 // "rule", "single", "cascade", "split" or "router"
  std::string reason;                 // why, in words, for the response's route
  std::vector<PlanStage> stages;      // run in order until one answer is accepted
  std::vector<std::string> fallback;  // run in order when the stages gave no answer
};

// The policy a loaded task runs: the configured one, with the cascade's thresholds resolved
// (inline, from the fitted file, or with the distilled model as first stage).
struct EffectivePolicy {
  std::string kind = "single";
  std::vector<std::string> variants;
  std::vector<double> thresholds;  // cascade: one per stage but the last
  std::vector<double> weights;     // split
  std::vector<std::string> fallback;
};

bool rule_matches(const config::RuleConfig& rule, const core::RequestContext& context);

// Whether any rule tests the request's language: only then is an undeclared language detected.
bool rules_test_language(const std::vector<config::RuleConfig>& rules);

// The arm of a weighted split. With a user, the arm is a hash of (task, user), so one user
// always gets the same arm while the weights stay; without one, `random` (uniform in [0, 1))
// picks.
std::size_t split_arm(const std::vector<double>& weights, std::string_view task,
                      std::string_view user, double random);

// Picks one of the router policy's candidates (an index into `variants`) for this request.
using RouterPick = std::function<std::size_t()>;

RoutePlan plan_route(std::string_view task, const std::vector<config::RuleConfig>& rules,
                     const EffectivePolicy& policy, const core::RequestContext& context,
                     double random, const RouterPick& router);

// "rule 1 (stakes=high)": a rule's conditions in words.
std::string describe_rule(std::size_t index, const config::RuleConfig& rule);

}  // namespace tandem::routing
