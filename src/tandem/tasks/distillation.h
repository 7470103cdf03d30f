#pragma once
// Distillation (`tandem distill`, DESIGN.md "fine-tuning and distillation"): a labels task's
// recorded LLM answers become a tailored text classifier that joins the task's cascade as its
// cheap first stage, once it agrees with the LLM (the teacher) often enough.
//
//   1. read_distill_records: the teacher's answers from the task's JSONL records (api/tasks.cpp
//      writes them): one (text, label, cost) example per distinct text, the last answer winning.
//   2. split_by_label: a seeded split, stratified by label, into training and held-out parts.
//   3. The text classifier (models/text/text_training.h) trains on the training part.
//   4. fit_agreement_threshold: on the held-out part, the lowest confidence threshold (the
//      highest coverage) at which the answers the classifier keeps agree with the teacher's at
//      least as often as the configured target; the cascade (distilled model, then the teacher)
//      is simulated there (routing::simulate_cascade) for the cost it saves.
//   5. The artifact and its state (cascade_state.h) are written; LoadedTask::load prepends the
//      model to the cascade when the state says `accepted`, at start, on reload or on SIGHUP.
// distill_task runs them all; the CLI prints its result.
#include <cstddef>
#include <cstdint>
#include <istream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "tandem/config/config.h"
#include "tandem/models/progress.h"
#include "tandem/tasks/cascade_state.h"

namespace tandem::tasks {

// Everything that stops a distillation before a model is written: bad settings, unreadable or
// malformed records ("file:LINE: why"), too few answers, a training failure.
class DistillError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One answer of the teacher, as the distilled model learns it.
struct DistillExample {
  std::string text;             // the task's first input field, as a tailored model reads it
  std::string label;            // the teacher's answer, one of the task's labels
  double teacher_cost_usd = 0;  // what the teacher's answer cost (0 when not recorded)
  std::uint64_t line = 0;       // the record it came from (the last one for its text)
};

struct DistillRecords {
  std::vector<DistillExample> examples;  // one per distinct text, in order of first appearance
  std::uint64_t lines = 0;               // non-blank lines read
  std::size_t task_records = 0;          // records of this task
  std::size_t other_tasks = 0;           // records of other tasks (skipped)
  std::size_t without_teacher = 0;   // the teacher did not run, failed, or gave no label (skipped)
  std::size_t outside_labels = 0;    // the teacher's label is not one of the task's (skipped)
  std::size_t without_text = 0;      // no first input field, or a blank one (skipped)
  std::size_t replaced = 0;          // answers replaced by a later one for the same text
  bool truncated_last_line = false;  // the last line was cut short (a writer mid-line): skipped
  bool costs_recorded = false;       // some teacher answer recorded a cost above 0
};

// Reads JSONL records of `task` (other tasks' lines are skipped) and keeps the answers of the
// variant `teacher`: entries of "variants" with that name, "ok" true and a string
// "output"."label". Throws DistillError "source:LINE: why" for a line that is not a JSON object,
// has no "task" string, or (for this task) lacks the "input" object or the "variants" array; a
// last line without its line break that does not parse is taken as cut short and skipped.
DistillRecords read_distill_records(std::istream& in, const std::string& source,
                                    const config::TaskConfig& task, const std::string& teacher);
// The same from a file; throws DistillError when it cannot be read.
DistillRecords read_distill_records(const std::string& path, const config::TaskConfig& task,
                                    const std::string& teacher);

struct DistillSplit {
  std::vector<std::size_t> train;        // example indices, increasing
  std::vector<std::size_t> held_out;     // example indices, increasing
  std::vector<std::string> unlearnable;  // labels with < 2 training examples: all held out
};

// Of each label's examples, round(holdout x count) are held out (chosen by a seeded shuffle of
// them in text order, which depends neither on the standard library nor on the records' order). A
// label left with fewer than 2 training examples is held out entirely: the classifier cannot learn
// it, and the held-out figures count it against the model. Labels in `labels` order; examples with
// other labels are ignored.
DistillSplit split_by_label(const std::vector<DistillExample>& examples,
                            const std::vector<std::string>& labels, double holdout,
                            std::uint64_t seed);

// The distilled model's answer to one held-out record.
struct HeldOutAnswer {
  double confidence = 0;        // calibrated, in [0, 1]
  bool agrees = false;          // the same label as the teacher's
  double teacher_cost_usd = 0;  // what the teacher's answer cost
};

// What the distilled model does when it answers at confidence >= threshold.
struct AgreementPoint {
  double threshold = 1;
  std::size_t kept = 0;    // held-out answers it keeps
  std::size_t agreed = 0;  // of which agree with the teacher
  double coverage = 0;     // kept / held out
  double agreement = 0;    // share of the kept answers that agree with the teacher (0 when none)
};

struct AgreementFit {
  std::size_t held_out = 0;
  double agreement_all = 0;  // over every held-out answer (threshold 0)
  double target = 0;
  // The lowest threshold whose kept answers agree >= target, keeping at least `min_kept` (or all
  // of them, when fewer are held out); when none does, the point of the highest agreement (the
  // most coverage among equals) with target_met false.
  AgreementPoint chosen;
  bool target_met = false;
  double agreement_low95 = 0;  // Wilson 95% lower bound of chosen.agreement
  // The cascade on the held-out records: the distilled model at `chosen.threshold`, then the
  // teacher (whose answers agree with themselves). Costs are the teacher's recorded costs, or 1
  // per call when none was recorded (then the saving is a share of the teacher's calls).
  double cascade_agreement = 0;
  double teacher_cost_per_request = 0;  // the teacher alone: mean cost
  double cascade_cost_per_request = 0;
  double cost_saved_share = 0;  // 1 - cascade / teacher
  // For the report: the first point reaching each coverage of 10%, 20%, ..., 100%.
  std::vector<AgreementPoint> curve;
};

// Candidate thresholds are the answers' distinct confidences (an answer at exactly the threshold
// is kept, as the gateway's cascade keeps it). Throws DistillError when `answers` is empty, the
// target is outside (0, 1] or a confidence is outside [0, 1].
AgreementFit fit_agreement_threshold(const std::vector<HeldOutAnswer>& answers, double target,
                                     std::size_t min_kept = 1);

struct DistillOptions {
  std::string records;  // the JSONL records (empty: the task's `record` file)
  double holdout = 0.25;
  std::uint64_t seed = 42;
  std::size_t min_kept = 10;  // the threshold keeps at least this many held-out answers
  std::string word_vectors;   // optional GloVe binary for the classifier's fastText part
  int threads = 1;
  models::ProgressFn progress;  // training progress (may be empty)
};

struct DistillResult {
  std::string records_path;
  DistillRecords records;
  std::vector<std::pair<std::string, std::size_t>> label_counts;  // the task's labels, in order
  std::size_t train = 0;
  DistillSplit split;
  AgreementFit fit;
  DistillState state;        // as written; state.accepted: the model joins the cascade
  std::string artifact;      // the model written
  std::string training_csv;  // the examples it trained on (text,label), beside the artifact
  double seconds = 0;
};

// Steps 1 to 5 for a task with a [tasks.X.distill] section. Writes `<artifact>.train.csv`, the
// artifact and `<artifact>.json` (first a state with accepted false, so that a reload between
// the writes never pairs the new model with an old threshold). Throws DistillError when the task
// cannot be distilled (no distill section, unreadable or malformed records, fewer than
// min_records teacher answers, the teacher used a single label, training failed); a model that
// misses the agreement target is not an error: it is written with accepted false.
DistillResult distill_task(const config::TaskConfig& task, const DistillOptions& options);

}  // namespace tandem::tasks
