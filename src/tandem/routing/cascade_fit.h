#pragma once
// Cascades: variants ordered cheapest first; each answer is accepted when its calibrated
// confidence clears that stage's threshold, else the next stage runs (the last stage's answer is
// always accepted). This file simulates a cascade over recorded outcomes and fits its thresholds
// offline to a target: the highest accuracy under a cost budget, or the lowest cost at a
// required accuracy. Pure computation, no I/O.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::routing {

// What one stage did (or would do) for one query.
struct StageOutcome {
  double confidence = 0;  // calibrated probability that the answer is right
  bool correct = false;   // for distillation: agrees with the teacher
  double cost = 0;        // USD (or any unit, the same for every stage)
  bool available = true;  // false: the stage has no answer for this query (it is skipped)
};

// One query: one outcome per stage, in cascade order.
using CascadeSample = std::vector<StageOutcome>;

struct CascadeTarget {
  enum class Kind { max_accuracy_under_budget, min_cost_at_accuracy };
  Kind kind = Kind::min_cost_at_accuracy;
  double value = 0;  // the budget (mean cost per query) or the required accuracy
};

struct CascadeResult {
  // One per stage but the last: an answer is accepted when confidence >= threshold; 0 accepts
  // every answer of the stage, +infinity none.
  std::vector<double> thresholds;
  double accuracy = 0;
  double mean_cost = 0;             // every stage that ran is paid
  std::vector<double> stage_share;  // share of queries answered by each stage
  bool target_met = false;          // fit_cascade only
};

// Runs the cascade with these thresholds over the samples.
CascadeResult simulate_cascade(const std::vector<CascadeSample>& samples,
                               const std::vector<double>& thresholds);

// The thresholds that best meet the target; when no setting meets it, the closest one
// (target_met false). Throws std::invalid_argument on empty or ragged samples, or a confidence
// outside [0, 1]. The search: each threshold takes one of up to 64 quantiles of its stage's
// confidences (every distinct value when there are fewer), 0 or +infinity; up to 3 stages every
// combination is simulated (exact), beyond that coordinate descent on accuracy - price * cost
// over a sweep of prices finds the front.
CascadeResult fit_cascade(const std::vector<CascadeSample>& samples, const CascadeTarget& target);

// The confidence of a later stage's answer from the answers it can see. Stage s answered
// `labels[s]` (an index into the task's `k` labels; nullopt: an answer outside the label set,
// e.g. a refusal), and `prior[s]` is its probability of being right before anyone answered (the
// learned router's P(correct)). Returns P(the last answer is right | all answers 0..s) under the
// model "each stage is right with its prior, and otherwise picks one of the k - 1 wrong labels at
// random, independently": an answer that agrees with earlier ones gains confidence, one that
// contradicts confident earlier answers loses it. With one stage it is the prior itself. Errors
// of real models are correlated, so agreement is worth less than this says; the cascade's
// thresholds are fitted on outcomes, so only the order of confidences matters. Throws
// std::invalid_argument on mismatched sizes, k < 2, a label >= k or a prior outside [0, 1].
double agreement_confidence(const std::vector<std::optional<std::size_t>>& labels,
                            const std::vector<double>& prior, std::size_t k);

// The label an answer gives: the answer trimmed, when it is a label or starts with one followed
// by a character that is not a letter or digit ("B", "B)", "B. because", "B\n"); nullopt else.
std::optional<std::size_t> answer_label(std::string_view answer,
                                        const std::vector<std::string>& labels);

// Every Pareto-optimal (cost, accuracy) setting found by the search, by increasing cost: the
// cascade's cost-accuracy curve.
std::vector<CascadeResult> cascade_frontier(const std::vector<CascadeSample>& samples);

}  // namespace tandem::routing
