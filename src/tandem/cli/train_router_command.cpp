#include "tandem/cli/train_router_command.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "tandem/datasets/dataset_error.h"
#include "tandem/models/artifact.h"

namespace tandem::cli {

std::vector<routing::RouterExample> router_examples(const datasets::RecordedSet& set,
                                                    double test_share, std::uint64_t seed,
                                                    bool test_part) {
  std::vector<routing::RouterExample> out;
  for (const auto& q : set.queries) {
    if (test_share > 0 && datasets::in_test_split(q.prompt, test_share, seed) != test_part) {
      continue;
    }
    routing::RouterExample e;
    e.text = q.prompt;
    for (const auto& a : q.answers) {
      e.correct.push_back(a.score ? std::optional<double>(std::clamp(*a.score, 0.0, 1.0))
                                  : std::nullopt);
      e.cost.push_back(a.cost_usd);
    }
    out.push_back(std::move(e));
  }
  return out;
}

namespace {

// The data's hash for the artifact: the file's, or the folder's CSV files' in name order.
std::string data_hash(const std::string& path) {
  if (!std::filesystem::is_directory(path)) return models::sha256_file(path);
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(path)) {
    if (e.is_regular_file() && e.path().extension() == ".csv") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return models::sha256_files(files);
}

}  // namespace

int run_train_router(const TrainRouterOptions& o) {
  try {
    if (o.rule != "utility" && o.rule != "slack") {
      std::fprintf(stderr, "tandem train router: --rule must be utility or slack\n");
      return 2;
    }
    const auto start = std::chrono::steady_clock::now();
    const datasets::RecordedSet set = datasets::load_recorded_set(o.data, o.format);
    const auto examples = router_examples(set, o.test_share, o.seed, false);
    std::printf("recorded set %s (%s): %zu queries, %zu models; training on %zu%s\n",
                o.data.c_str(), set.format.c_str(), set.queries.size(), set.models.size(),
                examples.size(), o.test_share > 0 ? " (the test split is left out)" : "");
    routing::RouterOptions ro;
    ro.models = set.models;
    ro.folds = o.folds;
    ro.l2 = o.l2;
    ro.epochs = o.epochs;
    ro.seed = o.seed;
    ro.rule = o.rule == "slack" ? routing::RoutingRule::slack : routing::RoutingRule::utility;
    const routing::TrainedRouter trained = routing::train_router(examples, ro);
    const auto& r = trained.report;
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%zu features, L2 %.0e, trained in %.1f s; per model, out of fold (%d folds):\n",
                r.features, r.l2, seconds, o.folds);
    std::printf("%-40s %8s %9s %10s %8s %7s %9s %9s\n", "model", "answers", "correct", "mean cost",
                "acc(p)", "AUC", "logloss", "base LL");
    models::ArtifactMeta meta;
    for (const auto& m : r.models) {
      std::printf("%-40s %8zu %9.3f %10.6f %8.3f %7.3f %9.4f %9.4f\n", m.name.c_str(), m.examples,
                  m.base_rate, m.mean_cost, m.accuracy, m.auc, m.log_loss, m.base_log_loss);
      meta.metrics["auc/" + m.name] = m.auc;
      meta.metrics["log_loss/" + m.name] = m.log_loss;
    }
    meta.data_sha256 = data_hash(o.data);
    meta.params["data"] = o.data;
    meta.params["format"] = set.format;
    meta.params["test_share"] = std::to_string(o.test_share);
    meta.params["seed"] = std::to_string(o.seed);
    meta.params["l2"] = std::to_string(r.l2);
    meta.params["rule"] = o.rule;
    meta.params["examples"] = std::to_string(r.examples);
    trained.model.save(o.out, meta);
    std::printf("wrote %s\n", o.out.c_str());
    return 0;
  } catch (const datasets::DatasetError& e) {
    std::fprintf(stderr, "tandem train router: %s\n", e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tandem train router: %s\n", e.what());
  }
  return 1;
}

int train_router_main(int argc, char** argv) {
  CLI::App app{"Train the learned router on recorded LLM answers", "tandem train router"};
  TrainRouterOptions o;
  app.add_option("-d,--data", o.data, "Recorded answers: a RouterBench CSV or a RouteLLM folder")
      ->required()
      ->check(CLI::ExistingPath);
  app.add_option("--format", o.format, "routerbench or routellm (default: detected)")
      ->check(CLI::IsMember({"routerbench", "routellm"}));
  app.add_option("--test-share", o.test_share,
                 "Leave out this share of prompts (the split tandem eval --task uses)")
      ->check(CLI::Range(0.0, 0.95));
  app.add_option("--seed", o.seed, "Seed of the split and of training")->capture_default_str();
  app.add_option("-o,--out", o.out, "Router artifact to write")->required();
  app.add_option("--folds", o.folds, "Cross-fitting folds (calibration and report)")
      ->check(CLI::Range(2, 20))
      ->capture_default_str();
  app.add_option("--l2", o.l2, "L2 strength (0: chosen by cross-validation)")
      ->check(CLI::Range(0.0, 10.0))
      ->capture_default_str();
  app.add_option("--epochs", o.epochs, "Training epochs")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--rule", o.rule, "Routing rule stored with the router: utility or slack")
      ->check(CLI::IsMember({"utility", "slack"}))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return run_train_router(o);
}

}  // namespace tandem::cli
