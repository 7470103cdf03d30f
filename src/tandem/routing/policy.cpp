#include "tandem/routing/policy.h"

#include <algorithm>

namespace tandem::routing {

namespace {

bool listed(const std::vector<std::string>& values, const std::string& value) {
  return values.empty() || std::find(values.begin(), values.end(), value) != values.end();
}

std::string joined(const std::vector<std::string>& values) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : "|") + v;
  return out;
}

// FNV-1a: stable across runs and builds (std::hash is not), so sticky arms survive restarts.
std::uint64_t fnv1a(std::string_view a, std::string_view b) {
  std::uint64_t h = 14695981039346656037ull;
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
  };
  mix(a);
  mix(std::string_view("\x1f", 1));
  mix(b);
  // FNV's high bits barely move when only the last characters differ ("u1", "u2"): finish with
  // splitmix64's mixer so every bit depends on every input bit.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

// Every fallback not already a stage, in order.
std::vector<std::string> fallbacks_after(const std::vector<PlanStage>& stages,
                                         const std::vector<std::string>& candidates) {
  std::vector<std::string> out;
  for (const auto& name : candidates) {
    bool used = std::any_of(stages.begin(), stages.end(),
                            [&](const PlanStage& s) { return s.variant == name; });
    if (!used && std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  }
  return out;
}

}  // namespace

bool rules_test_language(const std::vector<config::RuleConfig>& rules) {
  return std::any_of(rules.begin(), rules.end(),
                     [](const config::RuleConfig& r) { return !r.languages.empty(); });
}

bool rule_matches(const config::RuleConfig& rule, const core::RequestContext& c) {
  // A condition on an attribute the request did not give does not match: a rule for high stakes
  // must not fire for a request that said nothing about its stakes.
  if (!rule.stakes.empty() && (c.stakes.empty() || !listed(rule.stakes, c.stakes))) return false;
  if (rule.explain && *rule.explain != c.explain) return false;
  if (!rule.resources.empty() && (c.resources.empty() || !listed(rule.resources, c.resources))) {
    return false;
  }
  if (rule.latency_budget_below_ms &&
      !(c.latency_budget_ms && *c.latency_budget_ms < *rule.latency_budget_below_ms)) {
    return false;
  }
  if (rule.input_chars_above && !(c.input_chars > *rule.input_chars_above)) return false;
  if (rule.input_chars_below && !(c.input_chars < *rule.input_chars_below)) return false;
  if (!rule.languages.empty() && (c.language.empty() || !listed(rule.languages, c.language))) {
    return false;
  }
  return true;
}

std::string describe_rule(std::size_t index, const config::RuleConfig& rule) {
  std::string what;
  auto add = [&what](const std::string& s) { what += (what.empty() ? "" : ", ") + s; };
  if (!rule.stakes.empty()) add("stakes=" + joined(rule.stakes));
  if (rule.explain) add(std::string("explain=") + (*rule.explain ? "true" : "false"));
  if (!rule.resources.empty()) add("resources=" + joined(rule.resources));
  if (rule.latency_budget_below_ms) {
    add("latency_budget<" + std::to_string(*rule.latency_budget_below_ms) + "ms");
  }
  if (rule.input_chars_above) add("input_chars>" + std::to_string(*rule.input_chars_above));
  if (rule.input_chars_below) add("input_chars<" + std::to_string(*rule.input_chars_below));
  if (!rule.languages.empty()) add("language=" + joined(rule.languages));
  return "rule " + std::to_string(index + 1) + " (" + what + ")";
}

std::size_t split_arm(const std::vector<double>& weights, std::string_view task,
                      std::string_view user, double random) {
  double total = 0;
  for (double w : weights) total += std::max(0.0, w);
  if (weights.empty() || total <= 0) return 0;
  double u = random;
  if (!user.empty()) {
    // The top 53 bits of the hash as a uniform double in [0, 1).
    u = static_cast<double>(fnv1a(task, user) >> 11) * 0x1.0p-53;
  }
  double point = u * total;
  double edge = 0;
  std::size_t last = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    if (weights[i] <= 0) continue;
    last = i;
    edge += weights[i];
    if (point < edge) return i;
  }
  return last;  // u * total rounded up to the total
}

RoutePlan plan_route(std::string_view task, const std::vector<config::RuleConfig>& rules,
                     const EffectivePolicy& policy, const core::RequestContext& context,
                     double random, const RouterPick& router) {
  RoutePlan plan;
  for (std::size_t i = 0; i < rules.size(); ++i) {
    if (!rule_matches(rules[i], context)) continue;
    plan.policy = "rule";
    plan.reason = describe_rule(i, rules[i]);
    plan.stages.push_back({rules[i].use.front(), std::nullopt});
    std::vector<std::string> rest(rules[i].use.begin() + 1, rules[i].use.end());
    rest.insert(rest.end(), policy.fallback.begin(), policy.fallback.end());
    plan.fallback = fallbacks_after(plan.stages, rest);
    return plan;
  }
  plan.policy = policy.kind;
  if (policy.kind == "cascade") {
    for (std::size_t i = 0; i < policy.variants.size(); ++i) {
      std::optional<double> threshold;
      if (i + 1 < policy.variants.size() && i < policy.thresholds.size()) {
        threshold = policy.thresholds[i];
      }
      plan.stages.push_back({policy.variants[i], threshold});
    }
    plan.reason = "cascade of " + std::to_string(policy.variants.size()) + " stages";
  } else if (policy.kind == "split") {
    std::size_t arm = split_arm(policy.weights, task, context.user, random);
    plan.stages.push_back({policy.variants.at(arm), std::nullopt});
    plan.reason = "split arm " + std::to_string(arm + 1) + " of " +
                  std::to_string(policy.variants.size()) +
                  (context.user.empty() ? " (random)" : " (sticky for the user)");
  } else if (policy.kind == "router") {
    std::size_t pick = router ? router() : 0;
    plan.stages.push_back({policy.variants.at(pick), std::nullopt});
    plan.reason = "learned router";
  } else {
    plan.stages.push_back({policy.variants.at(0), std::nullopt});
    plan.reason = "single variant";
  }
  plan.fallback = fallbacks_after(plan.stages, policy.fallback);
  return plan;
}

}  // namespace tandem::routing
