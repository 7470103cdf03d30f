#include "tandem/cli/eval_command.h"

#include <cstdio>

#include "tandem/datasets/idx.h"
#include "tandem/datasets/ratings.h"
#include "tandem/datasets/text_dataset.h"
#include "tandem/models/artifact.h"
#include "tandem/models/classification_metrics.h"
#include "tandem/models/recsys/mf_artifact.h"
#include "tandem/models/recsys/recsys_metrics.h"
#include "tandem/models/text/text_classifier.h"
#include "tandem/models/vision/image_classifier.h"

namespace tandem::cli {

void print_recsys_report(const models::recsys::RecsysReport& r, std::size_t k) {
  std::printf("%-16s %10s %10s\n", "metric", "model", "popularity");
  if (r.model_errors) {
    std::printf("%-16s %10.4f %10.4f\n", "RMSE", r.model_errors->rmse, r.baseline_errors.rmse);
    std::printf("%-16s %10.4f %10.4f\n", "MAE", r.model_errors->mae, r.baseline_errors.mae);
    std::printf("(%zu ratings of users the model does not know, %zu of unknown items)\n",
                r.model_errors->unknown_users, r.model_errors->unknown_items);
  }
  const std::string at = "@" + std::to_string(k);
  std::printf("%-16s %10.4f %10.4f\n", ("precision" + at).c_str(), r.model_ranking.precision,
              r.baseline_ranking.precision);
  std::printf("%-16s %10.4f %10.4f\n", ("recall" + at).c_str(), r.model_ranking.recall,
              r.baseline_ranking.recall);
  std::printf("%-16s %10.4f %10.4f\n", ("NDCG" + at).c_str(), r.model_ranking.ndcg,
              r.baseline_ranking.ndcg);
  std::printf("(%zu users evaluated)\n", r.model_ranking.users);
}

namespace {

int eval_recsys(const models::Artifact& artifact, const EvalCommandOptions& o) {
  namespace rs = models::recsys;
  rs::MfModel model = rs::from_artifact(artifact);
  std::vector<datasets::Rating> test = datasets::load_ratings_csv(o.data);
  rs::EvalOptions eval;
  eval.k = static_cast<std::size_t>(o.k);
  rs::RecsysReport r = rs::evaluate(model, test, eval);
  std::printf("recommender (%s, %zu users, %zu items) on %zu test ratings\n",
              std::string(rs::to_string(model.feedback())).c_str(), model.num_users(),
              model.num_items(), test.size());
  print_recsys_report(r, eval.k);
  return 0;
}

}  // namespace

void add_eval_command(CLI::App& app, EvalCommandOptions& o) {
  auto* cmd = app.add_subcommand("eval", "Evaluate a trained tailored model on a test set");
  cmd->add_option("-m,--model", o.model, "Model artifact (tandem train)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("-d,--data", o.data, "Test data: text CSV, ratings CSV, or IDX images")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--labels", o.labels, "vision: IDX labels")->check(CLI::ExistingFile);
  cmd->add_option("-k", o.k, "recsys: cut-off of the ranking metrics")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
}

int run_eval(const EvalCommandOptions& o) {
  try {
    models::Artifact artifact = models::read_artifact(o.model);
    const std::string& kind = artifact.meta.kind;
    if (kind == "recsys") return eval_recsys(artifact, o);
    models::ClassificationReport report;
    if (kind == "text") {
      auto model = models::text::TextClassifier::from_artifact(artifact, o.model);
      report = models::text::evaluate_text_classifier(*model, datasets::load_text_csv(o.data));
    } else if (kind == "vision") {
      if (o.labels.empty()) {
        std::fprintf(stderr, "tandem eval: a vision model needs --labels (IDX labels)\n");
        return 2;
      }
      auto model = models::vision::ImageClassifier::from_artifact(artifact, o.model);
      datasets::ImageSet test = datasets::load_idx_images(
          o.data, o.labels, static_cast<unsigned>(model->labels().size()));
      report = models::vision::evaluate_image_classifier(*model, test);
    } else {
      std::fprintf(stderr, "tandem eval: %s: unknown model kind '%s'\n", o.model.c_str(),
                   kind.c_str());
      return 1;
    }
    std::printf("%s (%s) on %s\n%s", o.model.c_str(), kind.c_str(), o.data.c_str(),
                models::format_classification_report(report).c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tandem eval: %s\n", e.what());
    return 1;
  }
}

}  // namespace tandem::cli
