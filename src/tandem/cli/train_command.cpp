#include "tandem/cli/train_command.h"

#include <chrono>
#include <cstdio>

#include "tandem/cli/eval_command.h"
#include "tandem/cli/progress_bar.h"
#include "tandem/datasets/dataset_error.h"
#include "tandem/datasets/ratings.h"
#include "tandem/models/artifact.h"
#include "tandem/models/recsys/mf_artifact.h"
#include "tandem/models/recsys/recsys_metrics.h"
#include "tandem/models/text/text_training.h"
#include "tandem/models/vision/vision_training.h"

namespace tandem::cli {

namespace {

void print_metrics(const models::Artifact& a) {
  for (const auto& [name, value] : a.meta.metrics)
    std::printf("  %-28s %.4f\n", name.c_str(), value);
}

void print_written(const std::string& out, const models::Artifact& a, double seconds) {
  std::printf("wrote %s (%s, %zu bytes of model, data sha256 %.12s..., %.1f s)\n", out.c_str(),
              a.meta.kind.c_str(), a.payload.size(), a.meta.data_sha256.c_str(), seconds);
}

models::Artifact train_text(const TrainCommandOptions& o, ProgressBar& bar) {
  models::text::TextTrainOptions t;
  t.train_csv = o.data;
  t.word_vectors = o.vectors;
  t.seed = o.seed;
  if (o.threads > 0) t.threads = o.threads;
  if (o.validation >= 0) t.validation_fraction = o.validation;
  models::Artifact a = models::text::train_text_classifier(
      t, [&](const models::TrainProgress& p) { bar.update(p); });
  bar.finish();
  std::printf("text classifier, validation split:\n");
  print_metrics(a);
  return a;
}

models::Artifact train_vision(const TrainCommandOptions& o, ProgressBar& bar) {
  if (o.labels.empty()) throw CLI::ValidationError("--labels", "vision training needs --labels");
  models::vision::VisionTrainOptions v;
  v.train_images = o.data;
  v.train_labels = o.labels;
  v.seed = o.seed;
  if (o.threads > 0) v.threads = o.threads;
  if (o.validation >= 0) v.validation_fraction = o.validation;
  if (o.epochs > 0) v.epochs = o.epochs;
  v.max_examples = o.max_examples;
  if (!o.label_names.empty()) v.label_names = o.label_names;
  models::vision::VisionTrainReport report;
  models::Artifact a = models::vision::train_image_classifier(
      v, [&](const models::TrainProgress& p) { bar.update(p); }, &report);
  bar.finish();
  std::printf("image classifier: %zu training images, %zu validation images\n",
              report.train_examples, report.validation_examples);
  std::printf("  validation accuracy          %.4f\n", report.validation_accuracy);
  std::printf("  validation ECE               %.4f (before calibration %.4f, temperature %.3f)\n",
              report.validation_ece, report.validation_ece_raw, report.temperature);
  std::printf("  training                     %.1f s wall, %.1f s CPU\n", report.train_seconds,
              report.train_cpu_seconds);
  return a;
}

models::Artifact train_recsys(const TrainCommandOptions& o, ProgressBar& bar) {
  namespace rs = models::recsys;
  rs::Feedback feedback = rs::feedback_from_string(o.feedback);
  rs::TrainOptions t = feedback == rs::Feedback::kImplicit ? rs::TrainOptions::implicit_defaults()
                       : rs::solver_from_string(o.solver) == rs::ExplicitSolver::kSgd
                           ? rs::TrainOptions::sgd_defaults()
                           : rs::TrainOptions::explicit_defaults();
  t.seed = o.seed;
  if (o.factors > 0) t.factors = o.factors;
  if (o.iterations > 0) {
    t.iterations = o.iterations;
    if (t.burn_in >= t.iterations) t.burn_in = t.iterations / 2;
  }
  t.validate();
  std::vector<datasets::Rating> ratings = datasets::load_ratings_csv(o.data);
  std::vector<datasets::Rating> train;
  std::vector<datasets::Rating> test;
  if (o.holdout > 0) {
    rs::Split split = rs::random_split(ratings, o.holdout, o.seed);
    train = std::move(split.train);
    test = std::move(split.test);
  } else {
    train = std::move(ratings);
  }
  auto progress = [&](const rs::TrainProgress& p) {
    char detail[64];
    std::snprintf(detail, sizeof detail, "loss %.4f", p.loss);
    bar.update(models::TrainProgress{"training", static_cast<std::size_t>(p.iteration),
                                     static_cast<std::size_t>(p.iterations), detail});
  };
  rs::MfModel model = rs::train(train, t, progress);
  bar.finish();
  std::map<std::string, double> metrics;
  std::printf("recommender: %zu ratings, %zu users, %zu items, %d factors (%s)\n", train.size(),
              model.num_users(), model.num_items(), model.factors(), o.feedback.c_str());
  if (!test.empty()) {
    rs::RecsysReport r = rs::evaluate(model, test);
    std::printf("held out %zu ratings (seed %llu):\n", test.size(),
                static_cast<unsigned long long>(o.seed));
    print_recsys_report(r, 10);
    if (r.model_errors) {
      metrics["holdout_rmse"] = r.model_errors->rmse;
      metrics["holdout_mae"] = r.model_errors->mae;
    }
    metrics["holdout_ndcg_at_10"] = r.model_ranking.ndcg;
    metrics["holdout_popularity_ndcg_at_10"] = r.baseline_ranking.ndcg;
  }
  return rs::to_artifact(model, t, metrics, models::sha256_file(o.data));
}

}  // namespace

void add_train_command(CLI::App& app, TrainCommandOptions& o) {
  auto* cmd = app.add_subcommand("train", "Train a tailored model (text, recsys or vision)");
  cmd->add_option("kind", o.kind, "text, recsys or vision")
      ->required()
      ->check(CLI::IsMember({"text", "recsys", "vision"}));
  cmd->add_option("-d,--data", o.data,
                  "Training data: text CSV (text,label), ratings CSV, or IDX images")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--labels", o.labels, "vision: IDX labels")->check(CLI::ExistingFile);
  cmd->add_option("-o,--out", o.out, "Model artifact to write")->required();
  cmd->add_option("--vectors", o.vectors, "text: pretrained word vectors (GloVe binary)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--seed", o.seed, "Seed of every random choice")->capture_default_str();
  cmd->add_option("--threads", o.threads, "Threads (0: the kind's default)")
      ->check(CLI::Range(0, 256));
  cmd->add_option("--validation", o.validation, "text, vision: fraction held out for calibration")
      ->check(CLI::Range(0.01, 0.5));
  cmd->add_option("--feedback", o.feedback, "recsys: explicit or implicit")
      ->check(CLI::IsMember({"explicit", "implicit"}))
      ->capture_default_str();
  cmd->add_option("--solver", o.solver, "recsys explicit: gibbs or sgd")
      ->check(CLI::IsMember({"gibbs", "sgd"}))
      ->capture_default_str();
  cmd->add_option("--factors", o.factors, "recsys: factors (0: default)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--iterations", o.iterations, "recsys: sweeps or epochs (0: default)")
      ->check(CLI::Range(0, 100000));
  cmd->add_option("--holdout", o.holdout,
                  "recsys: fraction held out (seeded) and reported (0: train on all)")
      ->check(CLI::Range(0.0, 0.9));
  cmd->add_option("--epochs", o.epochs, "vision: epochs (0: default)")->check(CLI::Range(0, 1000));
  cmd->add_option("--max-examples", o.max_examples, "vision: use the first N images (0: all)");
  cmd->add_option("--label-names", o.label_names,
                  "vision: class names by label, comma-separated (default: Fashion-MNIST's)")
      ->delimiter(',');
}

int run_train(const TrainCommandOptions& o) {
  ProgressBar bar;
  auto started = std::chrono::steady_clock::now();
  try {
    models::Artifact a = o.kind == "text"     ? train_text(o, bar)
                         : o.kind == "vision" ? train_vision(o, bar)
                                              : train_recsys(o, bar);
    models::write_artifact(o.out, a);
    print_written(
        o.out, a,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    return 0;
  } catch (const std::exception& e) {
    bar.finish();
    std::fprintf(stderr, "tandem train: %s\n", e.what());
    return 1;
  }
}

}  // namespace tandem::cli
