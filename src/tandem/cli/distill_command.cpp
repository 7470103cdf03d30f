#include "tandem/cli/distill_command.h"

#include <CLI/CLI.hpp>
#include <cstdio>

#include "tandem/cli/progress_bar.h"
#include "tandem/config/config_loader.h"
#include "tandem/tasks/distillation.h"

namespace tandem::cli {

namespace {

int fail(const std::string& message) {
  std::fprintf(stderr, "tandem distill: %s\n", message.c_str());
  return 1;
}

double percent(double share) {
  return 100 * share;
}

void print_records(const tasks::DistillResult& r, const std::string& teacher) {
  const tasks::DistillRecords& rec = r.records;
  std::printf("records: %s: %llu lines, %zu of this task (%zu of other tasks)\n",
              r.records_path.c_str(), static_cast<unsigned long long>(rec.lines), rec.task_records,
              rec.other_tasks);
  std::printf("  %zu distinct answers of the teacher '%s' used", rec.examples.size(),
              teacher.c_str());
  if (rec.replaced > 0)
    std::printf("; %zu replaced by a later answer to the same text", rec.replaced);
  std::printf("\n");
  if (rec.without_teacher + rec.outside_labels + rec.without_text > 0) {
    std::printf(
        "  skipped: %zu without a teacher answer, %zu with a label outside the task's, "
        "%zu without text\n",
        rec.without_teacher, rec.outside_labels, rec.without_text);
  }
  if (rec.truncated_last_line)
    std::printf("  the last line was cut short (being written): skipped\n");
  std::printf("labels (the teacher's answers):");
  for (const auto& [label, count] : r.label_counts) std::printf(" %s %zu", label.c_str(), count);
  std::printf("\n");
}

void print_fit(const tasks::DistillResult& r, double holdout, std::uint64_t seed,
               bool costs_recorded) {
  const tasks::AgreementFit& f = r.fit;
  std::printf("split (stratified, seed %llu, %.0f%% held out): %zu training, %zu held out\n",
              static_cast<unsigned long long>(seed), percent(holdout), r.train, f.held_out);
  if (!r.split.unlearnable.empty()) {
    std::printf("  too rare to learn (all held out):");
    for (const auto& l : r.split.unlearnable) std::printf(" %s", l.c_str());
    std::printf("\n");
  }
  std::printf("held-out agreement with the teacher: %.1f%% (every answer)\n",
              percent(f.agreement_all));
  std::printf("  %-9s %-10s %-9s\n", "coverage", "threshold", "agreement");
  for (const auto& p : f.curve) {
    std::printf("  %7.1f%%  %-10.4f %6.1f%%\n", percent(p.coverage), p.threshold,
                percent(p.agreement));
  }
  const tasks::AgreementPoint& c = f.chosen;
  if (f.target_met) {
    std::printf(
        "target agreement %.1f%%: reached at threshold %.4f: the distilled model answers "
        "%.1f%% (%zu/%zu) with %.1f%% agreement (95%% lower bound %.1f%%)\n",
        percent(f.target), c.threshold, percent(c.coverage), c.kept, f.held_out,
        percent(c.agreement), percent(f.agreement_low95));
  } else {
    std::printf(
        "target agreement %.1f%%: NOT reached; the best is %.1f%% at threshold %.4f "
        "(coverage %.1f%%, %zu/%zu)\n",
        percent(f.target), percent(c.agreement), c.threshold, percent(c.coverage), c.kept,
        f.held_out);
  }
  std::printf(
      "cascade (distilled at that threshold, then the teacher) on the held-out records%s: "
      "%.1f%% agreement with the teacher alone\n",
      f.target_met ? "" : " (not adopted)", percent(f.cascade_agreement));
  if (costs_recorded) {
    std::printf(
        "teacher cost: $%.6f per request alone, $%.6f with the cascade: $%.4f saved per "
        "1,000 requests (%.1f%%)\n",
        f.teacher_cost_per_request, f.cascade_cost_per_request,
        1000 * (f.teacher_cost_per_request - f.cascade_cost_per_request),
        percent(f.cost_saved_share));
  } else {
    std::printf("teacher calls saved: %.1f%% (the records hold no cost for the teacher)\n",
                percent(f.cost_saved_share));
  }
}

}  // namespace

void add_distill_command(CLI::App& app, DistillCommandOptions& o) {
  auto* cmd = app.add_subcommand(
      "distill",
      "Train a tailored model on a task's recorded LLM answers; when it agrees with "
      "them often enough, the gateway adds it as the cascade's first stage");
  cmd->add_option("-c,--config", o.config_path, "Config file (TOML)")->capture_default_str();
  cmd->add_option("--task", o.task, "Task with a [tasks.T.distill] section")->required();
  cmd->add_option("--records", o.records, "JSONL records (default: the task's record file)");
  cmd->add_option("--holdout", o.holdout, "Share of the answers held out to check the model")
      ->check(CLI::Range(0.05, 0.9))
      ->capture_default_str();
  cmd->add_option("--seed", o.seed, "Seed of the split and the training")->capture_default_str();
  cmd->add_option("--min-kept", o.min_kept,
                  "The threshold keeps at least this many held-out answers")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  cmd->add_option("--vectors", o.vectors, "Pretrained word vectors (GloVe binary)")
      ->check(CLI::ExistingFile);
  cmd->add_flag("--quiet", o.quiet, "No progress bar");
}

int run_distill(const DistillCommandOptions& o) {
  auto loaded = config::load_config_file(o.config_path, config::process_environment());
  if (!loaded.config) {
    for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.c_str());
    return fail(std::to_string(loaded.errors.size()) + " problem(s) in " + o.config_path);
  }
  const config::TaskConfig* task = loaded.config->find_task(o.task);
  if (task == nullptr) return fail("no task '" + o.task + "' in " + o.config_path);
  if (!task->distill) {
    return fail("task '" + task->name + "' has no [tasks." + task->name + ".distill] section");
  }
  tasks::DistillOptions options;
  options.records = o.records;
  options.holdout = o.holdout;
  options.seed = o.seed;
  options.min_kept = o.min_kept;
  options.word_vectors = o.vectors;
  ProgressBar bar;
  if (!o.quiet) options.progress = [&](const models::TrainProgress& p) { bar.update(p); };
  tasks::DistillResult r;
  try {
    r = tasks::distill_task(*task, options);
  } catch (const std::exception& e) {
    bar.finish();
    return fail(e.what());
  }
  bar.finish();
  const config::DistillConfig& d = *task->distill;
  std::printf("tandem distill: task '%s', teacher '%s'\n", task->name.c_str(), d.teacher.c_str());
  print_records(r, d.teacher);
  print_fit(r, o.holdout, o.seed, r.records.costs_recorded);
  std::printf("wrote %s (trained on %s), %s (%.1f s)\n", r.artifact.c_str(), r.training_csv.c_str(),
              tasks::distill_state_path(r.artifact).c_str(), r.seconds);
  std::fflush(stdout);
  if (!r.state.accepted) {
    std::fprintf(stderr,
                 "tandem distill: the distilled model agrees with '%s' on %.1f%% of the answers it "
                 "keeps, below the target %.1f%%: written with accepted false, the cascade of "
                 "'%s' stays as configured\n",
                 d.teacher.c_str(), percent(r.fit.chosen.agreement), percent(d.agreement),
                 task->name.c_str());
    return 2;
  }
  std::printf(
      "accepted: the gateway adds the model 'distilled' as the first stage of '%s' "
      "(threshold %.4f) at start, on POST /v1/tasks/%s/reload or on SIGHUP\n",
      task->name.c_str(), r.state.threshold, task->name.c_str());
  return 0;
}

}  // namespace tandem::cli
