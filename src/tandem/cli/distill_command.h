#pragma once
// `tandem distill -c CONFIG --task T [--records FILE] [--holdout 0.25] [--seed 42] [--quiet]`:
// the teacher's recorded answers become a tailored text classifier (tasks/distillation.h); the
// command prints what it learned from, the held-out agreement with the teacher, the fitted
// threshold, its coverage and the teacher's cost it saves, and writes the artifact and its state
// (`<artifact>.json`), which the gateway reads at start, on POST /v1/tasks/T/reload and on SIGHUP.
//
// Exit status: 0 the model reached the agreement target (accepted: it joins the cascade); 2 it
// did not (written with accepted false: the cascade stays as configured); 1 nothing was written
// (a bad config or option, unreadable or malformed records, too few answers, training failed).
#include <cstdint>
#include <string>

namespace CLI {
class App;
}

namespace tandem::cli {

struct DistillCommandOptions {
  std::string config_path = "tandem.toml";
  std::string task;
  std::string records;  // empty: the task's `record` file
  double holdout = 0.25;
  std::uint64_t seed = 42;
  std::size_t min_kept = 10;
  std::string vectors;  // optional GloVe binary for the classifier
  bool quiet = false;   // no progress bar
};

void add_distill_command(CLI::App& app, DistillCommandOptions& options);
int run_distill(const DistillCommandOptions& options);

}  // namespace tandem::cli
