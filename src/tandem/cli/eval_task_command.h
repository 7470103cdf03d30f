#pragma once
// `tandem eval --task T -c tandem.toml --data D`: offline evaluation of a task's policy by replay.
// Every LLM variant of the task must name a [models.M] whose first route is on a provider of kind
// "replay"; the route's `model` is the recorded model (a column of the data). The recorded
// prompts are replayed as the task's input text (recorded answers were given to those prompts,
// so the variant's template is not applied). A query's cost is its recorded cost when the data
// has one, else the route's `request_price` per call.
//
// Prints the policy's accuracy, total and per-query cost and share of calls per variant, beside
// every variant alone, the random router at equal cost and the oracle; the policy's whole
// cost-accuracy curve (router: its cost_weight knob; cascade: the fitted thresholds' frontier),
// as CSV (--csv) and SVG (--plot); for two variants, RouteLLM's CPT(50%) and CPT(80%).
#include <cstdint>
#include <optional>
#include <string>

namespace tandem::cli {

struct EvalTaskOptions {
  std::string task;
  std::string config = "tandem.toml";
  std::string data;       // empty: the replay provider's data
  std::string format;     // empty: the provider's, else detected
  double test_share = 0;  // > 0: evaluate on the test split only (as train router left it out)
  std::uint64_t seed = 1;
  std::string csv;
  std::string plot;
  int knob_steps = 101;  // router: cost_weight values swept, 0 to 1
  // cascade: "router" (the router's P(correct)), "agreement" (combined with agreement with the
  // earlier stages' recorded answers), "auto" (agreement when answers and labels are there).
  std::string cascade_confidence = "auto";
  // cascade: write the thresholds fitted on the evaluated queries to this file (the policy's
  // thresholds_file), for the lowest cost at the best variant's accuracy, or with fit_budget
  // (USD per query) for the best accuracy within it. Only for the confidence the gateway
  // computes too: the stages' confidence = "router" or "router_agreement".
  std::string write_thresholds;
  // The request context every query is evaluated with, for the task's rules (JSON, as a
  // request's "context"); each query's size and language are its own.
  std::string context;
  std::optional<double> fit_budget;
};

int run_eval_task(const EvalTaskOptions& options);
// Parses `tandem eval --task ...` (argv[0] is "eval") and runs it.
int eval_task_main(int argc, char** argv);

// The routing commands' entry from main(): `tandem train router ...` and `tandem eval --task ...`
// are handled here (their exit code), anything else is left to the main parser (nullopt).
std::optional<int> run_routing_command(int argc, char** argv);

}  // namespace tandem::cli
