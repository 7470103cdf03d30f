#include "tandem/cli/eval_task_command.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <stdexcept>

#include "tandem/cli/curve_svg.h"
#include "tandem/cli/train_router_command.h"
#include "tandem/config/config_loader.h"
#include "tandem/datasets/dataset_error.h"
#include "tandem/datasets/routing_data.h"
#include "tandem/models/artifact.h"
#include "tandem/models/text/language_id.h"
#include "tandem/routing/cascade_fit.h"
#include "tandem/routing/cost_curve.h"
#include "tandem/routing/learned_router.h"
#include "tandem/routing/policy.h"
#include "tandem/tasks/cascade_state.h"
#include "tandem/tasks/task_input.h"

namespace tandem::cli {
namespace {

// A problem with the task, its config or its data: one line on stderr, exit code 2.
class EvalError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ReplayVariant {
  std::string name;    // the task's variant
  std::string column;  // the recorded model (the route's `model`)
  const config::ProviderConfig* provider = nullptr;
  double price_usd = 0;  // per call, for queries without a recorded cost
  std::size_t data_index = 0;
};

std::string join(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

std::vector<ReplayVariant> resolve_variants(const config::Config& cfg,
                                            const config::TaskConfig& task,
                                            const std::vector<std::string>& names) {
  std::vector<ReplayVariant> out;
  for (const auto& name : names) {
    const config::VariantConfig* v = task.find_variant(name);
    if (v == nullptr) throw EvalError("task '" + task.name + "' has no variant '" + name + "'");
    if (v->kind != "llm") {
      throw EvalError("variant '" + name + "' of task '" + task.name + "' is " + v->kind +
                      ": evaluation by replay runs llm variants on replay providers only");
    }
    const config::ModelConfig* model = cfg.find_model(v->model);
    if (model == nullptr || model->routes.empty()) {
      throw EvalError("variant '" + name + "': no [models." + v->model + "] with a route");
    }
    const config::RouteConfig& route = model->routes.front();
    const config::ProviderConfig& provider = cfg.providers.at(route.provider_index);
    if (provider.kind != "replay") {
      throw EvalError("variant '" + name + "': model '" + v->model + "' is served by provider '" +
                      provider.name + "' of kind " + provider.kind +
                      ", not replay (evaluation by replay needs recorded answers)");
    }
    ReplayVariant rv;
    rv.name = name;
    rv.column = route.model;
    rv.provider = &provider;
    const std::int64_t micro = route.price.request_micro_usd > 0 ? route.price.request_micro_usd
                                                                 : provider.price.request_micro_usd;
    rv.price_usd = static_cast<double>(micro) / 1e6;
    out.push_back(std::move(rv));
  }
  return out;
}

std::string fmt_cost(double usd) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3e", usd);
  return buf;
}

void print_point(const char* label, const routing::CurvePoint& p, std::size_t queries,
                 const std::vector<ReplayVariant>& variants, bool shares) {
  std::printf("%-44s %8.4f %12s %12s", label, p.accuracy, fmt_cost(p.mean_cost).c_str(),
              fmt_cost(p.mean_cost * static_cast<double>(queries)).c_str());
  if (shares && !p.share.empty()) {
    std::printf("  ");
    for (std::size_t i = 0; i < variants.size(); ++i) {
      if (p.share[i] > 0) std::printf(" %s %.0f%%", variants[i].name.c_str(), 100 * p.share[i]);
    }
  }
  std::printf("\n");
}

std::string pct(const std::optional<double>& v) {
  if (!v) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100 * *v);
  return buf;
}

// The task's decision table over recorded queries, as the gateway applies it to requests: each
// query's context is the one given with --context plus its own size (and its language, detected
// when a rule tests it and [server] language_model is set). A query a rule matches is answered
// by the rule's first variant that has a recorded answer for it; the policy sees the rest.
class RuleReplay {
 public:
  RuleReplay(const config::Config& cfg, const config::TaskConfig& task,
             const std::string& context_json, const datasets::RecordedSet& set)
      : task_(task), context_json_(context_json.empty() ? "{}" : context_json) {
    boost::system::error_code ec;
    context_ = boost::json::parse(context_json_, ec);
    if (ec || !context_.is_object()) throw EvalError("--context must be a JSON object");
    if (task.rules.empty()) {
      if (!context_json.empty()) std::printf("(--context: the task has no rules to apply it to)\n");
      return;
    }
    for (std::size_t i = 0; i < task.rules.size(); ++i) {
      const config::RuleConfig& rule = task.rules[i];
      std::vector<ReplayVariant> use;
      try {
        use = resolve_variants(cfg, task, rule.use);
      } catch (const EvalError& e) {
        throw EvalError(routing::describe_rule(i, rule) + ": " + e.what());
      }
      for (auto& v : use) {
        const auto m = set.find_model(v.column);
        if (!m) {
          throw EvalError(routing::describe_rule(i, rule) + ": variant '" + v.name +
                          "' replays model '" + v.column + "', which the data does not hold");
        }
        v.data_index = *m;
      }
      rules_.push_back({std::move(use), {}});
    }
    if (routing::rules_test_language(task.rules) && !cfg.server.language_model.empty()) {
      language_id_ = std::make_unique<models::text::LanguageId>(cfg.server.language_model);
    }
    // The context is checked once, as a request's would be.
    (void)context_of("");
  }

  bool active() const { return !rules_.empty(); }

  // True when a rule takes the query (its outcome is counted here); false: the policy decides.
  bool take(const datasets::RecordedQuery& q) {
    const core::RequestContext context = context_of(q.prompt);
    for (std::size_t i = 0; i < task_.rules.size(); ++i) {
      if (!routing::rule_matches(task_.rules[i], context)) continue;
      Tally& t = rules_[i].tally;
      ++t.queries;
      for (std::size_t u = 0; u < rules_[i].use.size(); ++u) {
        const ReplayVariant& v = rules_[i].use[u];
        const datasets::RecordedAnswer& a = q.answers[v.data_index];
        if (!a.score) continue;  // no recorded answer: the replay provider fails, the next runs
        t.correct += std::clamp(*a.score, 0.0, 1.0);
        t.cost += a.cost_usd ? *a.cost_usd : v.price_usd;
        ++t.answered_by[v.name];
        return true;
      }
      ++t.unanswered;
      return true;
    }
    return false;
  }

  // The rules' share, then the task as configured: the rules' answers plus the policy's on the
  // rest (`policy` over `policy_queries`).
  void report(const routing::CurvePoint& policy, std::size_t policy_queries) const {
    double correct = policy.accuracy * static_cast<double>(policy_queries);
    double cost = policy.mean_cost * static_cast<double>(policy_queries);
    std::size_t total = policy_queries, unanswered = 0;
    std::printf("\nrules (checked before the policy, context %s):\n", context_json_.c_str());
    for (std::size_t i = 0; i < rules_.size(); ++i) {
      const Tally& t = rules_[i].tally;
      std::printf("  %-42s %zu queries", routing::describe_rule(i, task_.rules[i]).c_str(),
                  t.queries);
      const std::size_t answered = t.queries - t.unanswered;
      if (answered > 0) {
        std::printf(", accuracy %.4f, %s per query;", t.correct / static_cast<double>(answered),
                    fmt_cost(t.cost / static_cast<double>(answered)).c_str());
        for (const auto& [name, count] : t.answered_by) std::printf(" %s %zu", name.c_str(), count);
      }
      if (t.unanswered > 0) std::printf(" (%zu with no recorded answer: left out)", t.unanswered);
      std::printf("\n");
      correct += t.correct;
      cost += t.cost;
      total += answered;
      unanswered += t.unanswered;
    }
    if (total == 0) return;
    std::printf(
        "the task as configured (rules, then the policy on the other %zu queries): accuracy "
        "%.4f at %s per query over %zu queries\n",
        policy_queries, correct / static_cast<double>(total),
        fmt_cost(cost / static_cast<double>(total)).c_str(), total);
  }

 private:
  struct Tally {
    std::size_t queries = 0, unanswered = 0;
    double correct = 0, cost = 0;
    std::map<std::string, std::size_t> answered_by;
  };
  struct Rule {
    std::vector<ReplayVariant> use;
    Tally tally;
  };

  // The request the gateway would get: {"input": prompt, "context": --context}, parsed by the
  // same code, so input size and context fields mean what they mean there.
  core::RequestContext context_of(const std::string& prompt) const {
    const std::string body =
        boost::json::serialize(boost::json::object{{"input", prompt}, {"context", context_}});
    core::RequestContext context;
    auto parsed = tasks::parse_task_input(task_, "application/json", body, 64, &context);
    if (const auto* e = std::get_if<core::ApiError>(&parsed)) {
      if (e->param.rfind("context", 0) == 0) throw EvalError("--context: " + e->message);
      return context;  // the input itself is off (e.g. empty): the policy sees it as is
    }
    if (context.language.empty() && language_id_ != nullptr) {
      context.language = language_id_->detect(prompt).code;
    }
    return context;
  }

  const config::TaskConfig& task_;
  std::string context_json_;  // as given, for the report
  boost::json::value context_;
  std::vector<Rule> rules_;
  std::unique_ptr<models::text::LanguageId> language_id_;
};

// What the policy is judged on: the task's variants resolved to recorded models, the queries it
// sees (those no rule took, with an answer from every variant), their outcomes, the router's
// predictions for them and each variant's own point.
struct Replay {
  const config::TaskConfig* task = nullptr;
  std::vector<ReplayVariant> variants;
  std::string data;  // the recorded set's path
  datasets::RecordedSet set;
  routing::OutcomeTable table;
  std::vector<const datasets::RecordedQuery*> queries;  // into `set`
  std::optional<routing::RouterModel> router;
  std::vector<std::vector<double>> p;        // the router's P(correct), per query, per variant
  std::vector<routing::CurvePoint> singles;  // each variant alone
  std::size_t best_single = 0;               // the most accurate variant (the cheaper on a tie)
};

// Why queries were not judged by the policy, for the header.
struct Selection {
  std::size_t missing = 0, priced = 0, out_of_split = 0, by_rules = 0;
};

// The policy's own point and its curve.
struct PolicyResult {
  routing::CurvePoint point;
  std::vector<routing::CurvePoint> curve;
  std::string curve_name;
  std::vector<double> strong_score;  // two variants: the policy's ranking for CPT
};

const config::TaskConfig& find_task(const config::Config& cfg, const EvalTaskOptions& o) {
  const config::TaskConfig* task = cfg.find_task(o.task);
  if (task != nullptr) return *task;
  std::vector<std::string> names;
  for (const auto& t : cfg.tasks) names.push_back(t.name);
  throw EvalError("no task '" + o.task + "' in " + o.config +
                  (names.empty() ? " (it has no tasks)" : " (its tasks: " + join(names) + ")"));
}

// The variants the policy chooses among (a single policy: the first).
std::vector<std::string> policy_variant_names(const config::TaskConfig& task) {
  const config::PolicyConfig& policy = task.policy;
  std::vector<std::string> names = policy.variants;
  if (names.empty()) {
    if (task.variants.empty()) throw EvalError("task '" + task.name + "' has no variants");
    names = {task.variants.front().name};
  }
  if (policy.kind == "single") names.resize(1);
  return names;
}

// The data: --data, else the first variant's replay provider's; each variant's column in it.
void load_data(const EvalTaskOptions& o, Replay& r) {
  const ReplayVariant& first = r.variants.front();
  r.data = o.data.empty() ? first.provider->replay_data : o.data;
  const std::string format =
      o.format.empty() && o.data.empty() ? first.provider->replay_format : o.format;
  if (o.data.empty()) {
    for (const auto& v : r.variants) {
      if (v.provider->replay_data != r.data) {
        throw EvalError("the variants' replay providers read different data (" + r.data + " and " +
                        v.provider->replay_data + "): give one with --data");
      }
    }
  }
  r.set = datasets::load_recorded_set(r.data, format);
  for (auto& v : r.variants) {
    const auto m = r.set.find_model(v.column);
    if (!m) {
      throw EvalError("variant '" + v.name + "' replays model '" + v.column + "', which " + r.data +
                      " does not hold (its models: " + join(r.set.models) + ")");
    }
    v.data_index = *m;
  }
}

// The queries evaluated: the test split (when asked) where every variant has a score; those a
// rule of the task takes are counted by `rules` instead.
Selection select_queries(const EvalTaskOptions& o, RuleReplay& rules, Replay& r) {
  Selection s;
  r.table.models = r.variants.size();
  for (const auto& q : r.set.queries) {
    if (o.test_share > 0 && !datasets::in_test_split(q.prompt, o.test_share, o.seed)) {
      ++s.out_of_split;
      continue;
    }
    if (rules.active() && rules.take(q)) {
      ++s.by_rules;
      continue;
    }
    bool complete = true;
    for (const auto& v : r.variants) complete = complete && q.answers[v.data_index].score;
    if (!complete) {
      ++s.missing;
      continue;
    }
    r.queries.push_back(&q);
    for (const auto& v : r.variants) {
      const datasets::RecordedAnswer& a = q.answers[v.data_index];
      r.table.score.push_back(std::clamp(*a.score, 0.0, 1.0));
      if (a.cost_usd) {
        r.table.cost.push_back(*a.cost_usd);
      } else {
        r.table.cost.push_back(v.price_usd);
        ++s.priced;
      }
    }
  }
  return s;
}

void print_selection(const EvalTaskOptions& o, const Replay& r, const Selection& s) {
  std::printf("task %s, policy %s over %s: %zu queries", o.task.c_str(),
              r.task->policy.kind.c_str(), r.data.c_str(), r.queries.size());
  if (o.test_share > 0) {
    std::printf(" (test split %.2f, seed %llu; %zu others left out)", o.test_share,
                static_cast<unsigned long long>(o.seed), s.out_of_split);
  }
  std::printf("\n");
  if (s.by_rules > 0) {
    std::printf(
        "%zu queries taken by the task's rules (below); the policy's figures are over the "
        "rest\n",
        s.by_rules);
  }
  if (s.missing > 0) {
    std::printf("%zu queries skipped: a variant has no recorded answer (missing, not wrong)\n",
                s.missing);
  }
  if (s.priced > 0) {
    std::printf("%zu answers priced by their route's request_price (no recorded cost)\n", s.priced);
  }
}

// The router's predictions, when the policy has one (router and cascade policies).
void predict(Replay& r) {
  const config::PolicyConfig& policy = r.task->policy;
  const std::size_t n = r.queries.size();
  r.p.assign(n, {});
  if (policy.router.empty()) {
    if (policy.kind == "router" || policy.kind == "cascade") {
      throw EvalError("a " + policy.kind + " policy over replay needs `router` (the confidence " +
                      "of a replayed answer is the router's P(correct))");
    }
    return;
  }
  r.router = routing::RouterModel::load(policy.router);
  std::vector<std::size_t> idx;
  for (const auto& v : r.variants) {
    const auto& rm = r.router->models();
    const auto it = std::find(rm.begin(), rm.end(), v.column);
    if (it == rm.end()) {
      throw EvalError("router " + policy.router + " has no head for model '" + v.column +
                      "' (variant '" + v.name + "'); it knows: " + join(rm));
    }
    idx.push_back(static_cast<std::size_t>(it - rm.begin()));
  }
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t q = 0; q < n; ++q) {
    const std::vector<double> all = r.router->predict(r.queries[q]->prompt);
    for (std::size_t i : idx) r.p[q].push_back(all[i]);
  }
  const double us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
  std::printf("router %s: %zu features, %zu heads; %.1f us per query to predict\n",
              policy.router.c_str(), r.router->features(), r.router->models().size(),
              us / static_cast<double>(n));
}

void judge_singles(Replay& r) {
  const std::size_t nv = r.variants.size();
  for (std::size_t i = 0; i < nv; ++i) r.singles.push_back(routing::single_model(r.table, i));
  for (std::size_t i = 1; i < nv; ++i) {
    const routing::CurvePoint& best = r.singles[r.best_single];
    if (r.singles[i].accuracy > best.accuracy ||
        (r.singles[i].accuracy == best.accuracy && r.singles[i].mean_cost < best.mean_cost)) {
      r.best_single = i;
    }
  }
}

// A random split: in expectation over the draw, each variant's point by its weight.
PolicyResult evaluate_split(const Replay& r) {
  const config::PolicyConfig& policy = r.task->policy;
  const std::size_t nv = r.variants.size();
  PolicyResult out;
  double total = 0;
  for (double w : policy.weights) total += w;
  out.point.share.assign(nv, 0);
  for (std::size_t i = 0; i < nv; ++i) {
    const double w = policy.weights.at(i) / total;
    out.point.accuracy += w * r.singles[i].accuracy;
    out.point.mean_cost += w * r.singles[i].mean_cost;
    out.point.share[i] = w;
  }
  return out;
}

PolicyResult evaluate_router(const EvalTaskOptions& o, const Replay& r) {
  const config::PolicyConfig& policy = r.task->policy;
  const std::size_t nv = r.variants.size();
  const std::size_t n = r.queries.size();
  const routing::RouterModel& router = *r.router;
  // The costs the router weighs: the route's price per call, else the mean recorded cost in the
  // router's training data, else the mean here.
  std::vector<double> costs(nv);
  for (std::size_t i = 0; i < nv; ++i) {
    const auto& rm = router.models();
    const auto at = static_cast<std::size_t>(std::find(rm.begin(), rm.end(), r.variants[i].column) -
                                             rm.begin());
    costs[i] = r.variants[i].price_usd > 0   ? r.variants[i].price_usd
               : router.mean_costs()[at] > 0 ? router.mean_costs()[at]
                                             : r.singles[i].mean_cost;
  }
  auto at_knob = [&](double w) {
    std::vector<std::size_t> choices(n);
    for (std::size_t q = 0; q < n; ++q) {
      choices[q] = routing::RouterModel::choose_model(r.p[q], w, costs, router.rule());
    }
    return routing::evaluate_choices(r.table, choices, w);
  };
  PolicyResult out;
  out.point = at_knob(policy.cost_weight);
  const int steps = std::max(o.knob_steps, 2);
  for (int k = 0; k < steps; ++k) out.curve.push_back(at_knob(k / double(steps - 1)));
  out.curve_name = "router (cost_weight 0..1)";
  if (nv == 2) {
    const std::size_t strong = r.singles[1].accuracy >= r.singles[0].accuracy ? 1 : 0;
    for (std::size_t q = 0; q < n; ++q) {
      out.strong_score.push_back(r.p[q][strong] - r.p[q][1 - strong]);
    }
  }
  return out;
}

// What the gateway computes for the cascade's stages that can escalate: "router" or
// "agreement" when every such stage sets the same, else "" (nothing thresholds fit).
std::string live_cascade_confidence(const Replay& r) {
  std::string live;
  for (std::size_t s = 0; s + 1 < r.variants.size(); ++s) {
    const std::string& c = r.task->find_variant(r.variants[s].name)->confidence;
    const std::string mode = c == "router_agreement" ? "agreement" : c;
    live = s == 0 ? mode : (live == mode ? live : "");
  }
  return live;
}

// Each query's stages as the cascade sees them: a stage's confidence is the router's
// P(correct) for its model or, with `agreement`, that prior combined with agreement with the
// answers of the stages before it (paid for already): see routing::agreement_confidence.
std::vector<routing::CascadeSample> cascade_samples(const Replay& r, bool agreement) {
  const std::size_t nv = r.variants.size();
  std::vector<routing::CascadeSample> samples(r.queries.size());
  for (std::size_t q = 0; q < r.queries.size(); ++q) {
    std::vector<std::optional<std::size_t>> said;
    for (std::size_t s = 0; s < nv; ++s) {
      double confidence = r.p[q][s];
      if (agreement) {
        said.push_back(routing::answer_label(
            *r.queries[q]->answers[r.variants[s].data_index].response, r.task->labels));
        confidence = routing::agreement_confidence(
            said, std::vector<double>(r.p[q].begin(), r.p[q].begin() + static_cast<long>(s) + 1),
            r.task->labels.size());
      }
      samples[q].push_back(
          {confidence, r.table.score_at(q, s) >= 0.5, r.table.cost_at(q, s), true});
    }
  }
  return samples;
}

void print_thresholds(const std::vector<double>& t) {
  for (double v : t) std::printf("%.4f ", v);
}

// Thresholds fitted on the queries they are judged on flatter the cascade; cross-fitting does
// not: fit on one half (by prompt hash), evaluate on the other, and the other way.
void print_cross_fitted(const EvalTaskOptions& o, const Replay& r,
                        const std::vector<routing::CascadeSample>& samples,
                        const routing::CascadeTarget& at_best_accuracy) {
  const routing::CurvePoint& best = r.singles[r.best_single];
  const std::size_t n = r.queries.size();
  for (const auto& t :
       {at_best_accuracy,
        routing::CascadeTarget{routing::CascadeTarget::Kind::max_accuracy_under_budget,
                               0.3 * best.mean_cost}}) {
    double correct = 0, cost = 0;
    bool fitted = true;
    for (int half = 0; half < 2; ++half) {
      std::vector<routing::CascadeSample> fit_on, judge_on;
      for (std::size_t q = 0; q < n; ++q) {
        const bool a = datasets::in_test_split(r.queries[q]->prompt, 0.5, o.seed ^ 0xC0FFEEull);
        (a == (half == 0) ? fit_on : judge_on).push_back(samples[q]);
      }
      if (fit_on.empty() || judge_on.empty()) {
        fitted = false;
        break;
      }
      const auto judged =
          routing::simulate_cascade(judge_on, routing::fit_cascade(fit_on, t).thresholds);
      correct += judged.accuracy * static_cast<double>(judge_on.size());
      cost += judged.mean_cost * static_cast<double>(judge_on.size());
    }
    if (!fitted) continue;
    const double dn = static_cast<double>(n);
    std::printf(
        "cross-fitted (halves), %s: accuracy %.4f at %s per query = %.1f%% of the "
        "best variant's cost\n",
        t.kind == routing::CascadeTarget::Kind::min_cost_at_accuracy
            ? "lowest cost at the best variant's accuracy"
            : "best accuracy within 30% of its cost",
        correct / dn, fmt_cost(cost / dn).c_str(), 100 * cost / dn / best.mean_cost);
  }
}

// --write-thresholds: only worth storing when the gateway computes the same confidence.
void write_thresholds(const EvalTaskOptions& o, const Replay& r,
                      const std::vector<routing::CascadeSample>& samples, bool agreement,
                      const std::string& live, const routing::CascadeTarget& at_best_accuracy) {
  const std::size_t nv = r.variants.size();
  const std::string wanted = agreement ? "router_agreement" : "router";
  if (live != (agreement ? "agreement" : "router")) {
    std::vector<std::string> stages;
    for (std::size_t s = 0; s + 1 < nv; ++s) stages.push_back(r.variants[s].name);
    throw EvalError("--write-thresholds: these thresholds were fitted on the " +
                    std::string(agreement ? "router's P(correct) combined with agreement "
                                            "with earlier stages' answers"
                                          : "router's P(correct)") +
                    ", so the cascade's stages before the last (" + join(stages) +
                    ") must set confidence = \"" + wanted +
                    "\" for the gateway to compute the same (or choose another "
                    "--cascade-confidence)");
  }
  routing::CascadeTarget chosen = at_best_accuracy;
  if (o.fit_budget) {
    chosen = {routing::CascadeTarget::Kind::max_accuracy_under_budget, *o.fit_budget};
  }
  const routing::CascadeResult stored = routing::fit_cascade(samples, chosen);
  char details[512];
  std::snprintf(details, sizeof details,
                R"({"target":"%s","target_value":%.9g,"accuracy":%.6f,"mean_cost_usd":%.9g,)"
                R"("target_met":%s,"queries":%zu})",
                o.fit_budget ? "max_accuracy_under_budget" : "min_cost_at_accuracy", chosen.value,
                stored.accuracy, stored.mean_cost, stored.target_met ? "true" : "false",
                r.queries.size());
  std::vector<std::string> stage_names;
  for (const auto& v : r.variants) stage_names.push_back(v.name);
  tasks::write_cascade_thresholds(o.write_thresholds, {stage_names, stored.thresholds}, details);
  std::printf("wrote %s: thresholds ", o.write_thresholds.c_str());
  print_thresholds(stored.thresholds);
  std::printf("(accuracy %.4f at %s per query%s)\n", stored.accuracy,
              fmt_cost(stored.mean_cost).c_str(), stored.target_met ? "" : ", target not met");
}

PolicyResult evaluate_cascade(const EvalTaskOptions& o, const Replay& r) {
  const std::size_t nv = r.variants.size();
  const routing::CurvePoint& best = r.singles[r.best_single];
  bool has_responses = !r.task->labels.empty();
  for (const auto* q : r.queries) {
    for (const auto& v : r.variants) {
      has_responses = has_responses && q->answers[v.data_index].response;
    }
  }
  const std::string live = live_cascade_confidence(r);
  const bool agreement = o.cascade_confidence == "agreement" ||
                         (o.cascade_confidence == "auto" && live != "router" && has_responses);
  if (agreement && !has_responses) {
    throw EvalError(
        "--cascade-confidence agreement needs recorded responses for every "
        "stage and a task with labels");
  }
  std::printf("cascade confidence: %s\n",
              agreement ? "the router's P(correct) combined with agreement with earlier "
                          "stages' answers"
                        : "the router's P(correct)");
  const std::vector<routing::CascadeSample> samples = cascade_samples(r, agreement);
  std::vector<double> thresholds = r.task->policy.thresholds;
  const bool fitted_here = thresholds.size() + 1 != nv;
  if (fitted_here) {
    std::printf(
        "(the policy's thresholds_file is not read here: the fitted thresholds "
        "below stand in for it)\n");
  }
  PolicyResult out;
  for (const auto& f : routing::cascade_frontier(samples)) {
    routing::CurvePoint c;
    c.accuracy = f.accuracy;
    c.mean_cost = f.mean_cost;
    c.share = f.stage_share;
    out.curve.push_back(c);
  }
  out.curve_name = "cascade (thresholds fitted here)";
  const routing::CascadeTarget target{routing::CascadeTarget::Kind::min_cost_at_accuracy,
                                      best.accuracy};
  const routing::CascadeResult fit = routing::fit_cascade(samples, target);
  if (fitted_here) thresholds = fit.thresholds;
  const routing::CascadeResult own = routing::simulate_cascade(samples, thresholds);
  out.point.accuracy = own.accuracy;
  out.point.mean_cost = own.mean_cost;
  out.point.share = own.stage_share;
  std::printf(
      "thresholds fitted on these queries for the lowest cost at the best variant's "
      "accuracy (%.4f): ",
      best.accuracy);
  print_thresholds(fit.thresholds);
  std::printf("-> accuracy %.4f at %s per query (%.1f%% of its cost)%s\n", fit.accuracy,
              fmt_cost(fit.mean_cost).c_str(), 100 * fit.mean_cost / best.mean_cost,
              fit.target_met ? "" : ", target not met");
  print_cross_fitted(o, r, samples, target);
  if (!o.write_thresholds.empty()) write_thresholds(o, r, samples, agreement, live, target);
  if (nv == 2) {
    for (const auto& s : samples) out.strong_score.push_back(1 - s[0].confidence);
  }
  return out;
}

PolicyResult evaluate_policy(const EvalTaskOptions& o, const Replay& r) {
  const std::string& kind = r.task->policy.kind;
  if (kind == "single") {
    PolicyResult out;
    out.point = r.singles[0];
    return out;
  }
  if (kind == "split") return evaluate_split(r);
  if (kind == "router") return evaluate_router(o, r);
  if (kind == "cascade") return evaluate_cascade(o, r);
  throw EvalError("policy kind '" + kind + "' cannot be evaluated by replay");
}

// The policy beside a random router at equal cost, the oracle and each variant alone.
void print_table(const Replay& r, const PolicyResult& result, const routing::CurvePoint& oracle) {
  const std::size_t n = r.queries.size();
  std::printf("\n%-44s %8s %12s %12s   %s\n", "", "accuracy", "USD/query", "USD total", "calls");
  print_point(("policy " + r.task->policy.kind).c_str(), result.point, n, r.variants, true);
  if (const auto random = routing::random_router_accuracy(r.singles, result.point.mean_cost)) {
    routing::CurvePoint rp;
    rp.accuracy = *random;
    rp.mean_cost = result.point.mean_cost;
    print_point("random router at equal cost", rp, n, r.variants, false);
  }
  print_point("oracle (cheapest correct variant)", oracle, n, r.variants, true);
  for (std::size_t i = 0; i < r.variants.size(); ++i) {
    print_point(("variant " + r.variants[i].name + " (" + r.variants[i].column + ")").c_str(),
                r.singles[i], n, r.variants, false);
  }
}

// The curve's summary: its mean accuracy over the costs between the cheapest and the best
// variant, where it reaches the best variant's accuracy, and its best at 30% and 50% of its cost.
void print_curve(const Replay& r, const PolicyResult& result) {
  const std::vector<routing::CurvePoint>& curve = result.curve;
  const routing::CurvePoint& best = r.singles[r.best_single];
  const double lo = std::min_element(r.singles.begin(), r.singles.end(), [](auto& a, auto& b) {
                      return a.mean_cost < b.mean_cost;
                    })->mean_cost;
  const double hi = best.mean_cost;
  std::printf("\n%s: %zu points", result.curve_name.c_str(), curve.size());
  if (hi > lo) {
    std::printf(
        "; mean accuracy over costs [cheapest, best variant]: %.4f (random router "
        "%.4f)",
        routing::area_under_curve(curve, lo, hi), routing::area_under_curve(r.singles, lo, hi));
  }
  std::printf("\n");
  const auto reach = routing::cheapest_reaching(curve, best.accuracy);
  if (reach) {
    std::printf(
        "best variant's accuracy (%s, %.4f) reached at %s per query = %.1f%% of its "
        "cost (random router: 100%%)\n",
        r.variants[r.best_single].name.c_str(), best.accuracy, fmt_cost(reach->mean_cost).c_str(),
        100 * reach->mean_cost / best.mean_cost);
  } else {
    std::printf("best variant's accuracy (%s, %.4f) is not reached on the curve\n",
                r.variants[r.best_single].name.c_str(), best.accuracy);
  }
  for (double share : {0.3, 0.5}) {
    const double budget = share * best.mean_cost;
    const routing::CurvePoint* top = nullptr;
    for (const auto& c : curve) {
      if (c.mean_cost <= budget && (!top || c.accuracy > top->accuracy)) top = &c;
    }
    if (top) {
      std::printf(
          "at <= %.0f%% of the best variant's cost: accuracy %.4f (random router "
          "%.4f)\n",
          100 * share, top->accuracy,
          routing::random_router_accuracy(r.singles, budget).value_or(NAN));
    }
  }
}

// RouteLLM's call-performance thresholds: the share of calls to the strong variant the policy
// needs to reach 50% and 80% of the gap between the two.
void print_cpt(const Replay& r, const PolicyResult& result) {
  const std::size_t strong = r.singles[1].accuracy >= r.singles[0].accuracy ? 1 : 0;
  const std::size_t weak = 1 - strong;
  std::printf(
      "\nweak variant %s (accuracy %.4f), strong variant %s (%.4f): calls to the strong one "
      "needed\n",
      r.variants[weak].name.c_str(), r.singles[weak].accuracy, r.variants[strong].name.c_str(),
      r.singles[strong].accuracy);
  for (double x : {0.5, 0.8}) {
    const auto cpt =
        routing::call_performance_threshold(r.table, weak, strong, result.strong_score, x);
    std::printf("CPT(%.0f%%): %s %s, random router %.1f%%\n", 100 * x, r.task->policy.kind.c_str(),
                pct(cpt).c_str(), 100 * x);
  }
}

void write_csv(const std::string& path, const Replay& r, const PolicyResult& result,
               const routing::CurvePoint& oracle) {
  const std::size_t nv = r.variants.size();
  const std::size_t n = r.queries.size();
  std::ofstream out(path, std::ios::trunc);
  if (!out) throw EvalError("cannot write " + path);
  out << "series,knob,accuracy,mean_cost_usd,total_cost_usd";
  for (const auto& v : r.variants) out << ",share:" << v.name;
  out << "\n";
  auto row = [&](const std::string& series, const routing::CurvePoint& c) {
    out << series << "," << c.knob << "," << c.accuracy << "," << c.mean_cost << ","
        << c.mean_cost * static_cast<double>(n);
    for (std::size_t i = 0; i < nv; ++i) out << "," << (i < c.share.size() ? c.share[i] : 0);
    out << "\n";
  };
  out.precision(10);
  row("policy", result.point);
  for (const auto& c : result.curve) row(r.task->policy.kind, c);
  for (std::size_t i = 0; i < nv; ++i) row("single:" + r.variants[i].name, r.singles[i]);
  row("oracle", oracle);
  for (const auto& c : result.curve) {
    if (auto random = routing::random_router_accuracy(r.singles, c.mean_cost)) {
      routing::CurvePoint rp;
      rp.accuracy = *random;
      rp.mean_cost = c.mean_cost;
      row("random", rp);
    }
  }
  if (!out) throw EvalError("cannot write " + path);
  std::printf("wrote %s\n", path.c_str());
}

void write_plot(const EvalTaskOptions& o, const Replay& r, const PolicyResult& result,
                const routing::CurvePoint& oracle) {
  const std::size_t nv = r.variants.size();
  Plot plot;
  plot.title =
      "task " + o.task + ": cost vs accuracy (" + std::to_string(r.queries.size()) + " queries)";
  plot.x_label = "mean cost per query (USD)";
  plot.y_label = "accuracy";
  double lo = oracle.mean_cost, hi = oracle.mean_cost;
  for (const auto& s : r.singles) lo = std::min(lo, s.mean_cost), hi = std::max(hi, s.mean_cost);
  plot.log_x = lo > 0 && hi / lo > 20;
  if (!result.curve.empty()) {
    PlotSeries s{result.curve_name, {}, true, false, "#1f77b4", false};
    for (const auto& c : routing::pareto_front(result.curve)) {
      s.points.emplace_back(c.mean_cost, c.accuracy);
    }
    plot.series.push_back(std::move(s));
  }
  PlotSeries random{"random router (best mixture)", {}, true, false, "#7f7f7f", true};
  for (int k = 0; k <= 200; ++k) {
    const double c = plot.log_x ? lo * std::pow(hi / lo, k / 200.0) : lo + (hi - lo) * k / 200.0;
    if (auto a = routing::random_router_accuracy(r.singles, c)) random.points.emplace_back(c, *a);
  }
  plot.series.push_back(std::move(random));
  static const char* colors[] = {"#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                                 "#e377c2", "#bcbd22", "#17becf", "#d62728"};
  for (std::size_t i = 0; i < nv; ++i) {
    plot.series.push_back({r.variants[i].name,
                           {{r.singles[i].mean_cost, r.singles[i].accuracy}},
                           false,
                           true,
                           colors[i % 8],
                           false});
  }
  plot.series.push_back(
      {"oracle", {{oracle.mean_cost, oracle.accuracy}}, false, true, "black", false});
  plot.series.push_back({"policy (" + r.task->policy.kind + ")",
                         {{result.point.mean_cost, result.point.accuracy}},
                         false,
                         false,
                         "#d62728",
                         false});
  std::ofstream out(o.plot, std::ios::trunc);
  out << render_svg(plot);
  if (!out) throw EvalError("cannot write " + o.plot);
  std::printf("wrote %s\n", o.plot.c_str());
}

}  // namespace

int run_eval_task(const EvalTaskOptions& o) {
  try {
    const config::LoadResult loaded =
        config::load_config_file(o.config, config::process_environment());
    if (!loaded.config) {
      for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.c_str());
      return 2;
    }
    const config::Config& cfg = *loaded.config;
    Replay r;
    r.task = &find_task(cfg, o);
    r.variants = resolve_variants(cfg, *r.task, policy_variant_names(*r.task));
    load_data(o, r);
    RuleReplay rules(cfg, *r.task, o.context, r.set);
    const Selection selection = select_queries(o, rules, r);
    if (r.queries.empty() && selection.by_rules > 0) {
      std::printf("task %s: the rules take all %zu queries of %s\n", o.task.c_str(),
                  selection.by_rules, r.data.c_str());
      rules.report({}, 0);
      return 0;
    }
    if (r.queries.empty()) throw EvalError("no query to evaluate in " + r.data);
    print_selection(o, r, selection);
    predict(r);
    judge_singles(r);
    const routing::CurvePoint oracle = routing::oracle(r.table);
    const PolicyResult result = evaluate_policy(o, r);

    print_table(r, result, oracle);
    if (rules.active()) rules.report(result.point, r.queries.size());
    if (!result.curve.empty()) print_curve(r, result);
    if (r.variants.size() == 2 && !result.strong_score.empty()) print_cpt(r, result);
    if (!o.csv.empty()) write_csv(o.csv, r, result, oracle);
    if (!o.plot.empty()) write_plot(o, r, result, oracle);
    return 0;
  } catch (const EvalError& e) {
    std::fprintf(stderr, "tandem eval --task: %s\n", e.what());
    return 2;
  } catch (const datasets::DatasetError& e) {
    std::fprintf(stderr, "tandem eval --task: %s\n", e.what());
  } catch (const models::ArtifactError& e) {
    std::fprintf(stderr, "tandem eval --task: %s\n", e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tandem eval --task: %s\n", e.what());
  }
  return 1;
}

int eval_task_main(int argc, char** argv) {
  CLI::App app{"Evaluate a task's policy offline by replaying recorded LLM answers", "tandem eval"};
  EvalTaskOptions o;
  app.add_option("--task", o.task, "The task (tandem.toml [tasks.<name>])")->required();
  app.add_option("-c,--config", o.config, "Config file (TOML)")
      ->check(CLI::ExistingFile)
      ->capture_default_str();
  app.add_option("-d,--data", o.data, "Recorded answers (default: the replay provider's data)")
      ->check(CLI::ExistingPath);
  app.add_option("--format", o.format, "routerbench or routellm (default: detected)")
      ->check(CLI::IsMember({"routerbench", "routellm"}));
  app.add_option("--test-share", o.test_share,
                 "Evaluate on this share of prompts (the split train router --test-share left "
                 "out)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--seed", o.seed, "Seed of the split")->capture_default_str();
  app.add_option("--csv", o.csv, "Write the cost-accuracy curve as CSV");
  app.add_option("--plot", o.plot, "Write the cost-accuracy plot as SVG");
  app.add_option("--knob-steps", o.knob_steps, "Router: cost_weight values swept from 0 to 1")
      ->check(CLI::Range(2, 100000))
      ->capture_default_str();
  app.add_option("--cascade-confidence", o.cascade_confidence,
                 "cascade: router (P(correct)), agreement (P(correct) with earlier stages' "
                 "answers) or auto (what the stages' confidence setting computes; agreement "
                 "when they set none of the two and the data has the answers)")
      ->check(CLI::IsMember({"auto", "router", "agreement"}))
      ->capture_default_str();
  app.add_option("--context", o.context,
                 "The request context every query is evaluated with, for the task's rules, as "
                 "a request's \"context\" (e.g. '{\"stakes\": \"high\"}'); input size and "
                 "language come from each query");
  app.add_option("--write-thresholds", o.write_thresholds,
                 "cascade: write the fitted thresholds to this file (policy.thresholds_file)");
  app.add_option("--fit-budget", o.fit_budget,
                 "cascade: fit for the best accuracy within this cost per query (USD) instead of "
                 "the lowest cost at the best variant's accuracy")
      ->check(CLI::PositiveNumber);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return run_eval_task(o);
}

std::optional<int> run_routing_command(int argc, char** argv) {
  if (argc >= 3 && std::strcmp(argv[1], "train") == 0 && std::strcmp(argv[2], "router") == 0) {
    return train_router_main(argc - 2, argv + 2);
  }
  if (argc >= 2 && std::strcmp(argv[1], "eval") == 0) {
    for (int i = 2; i < argc; ++i) {
      if (std::strcmp(argv[i], "--task") == 0 || std::strncmp(argv[i], "--task=", 7) == 0) {
        return eval_task_main(argc - 1, argv + 1);
      }
    }
  }
  return std::nullopt;
}

}  // namespace tandem::cli
