#pragma once
// The learned router: a tailored classifier on the query text that predicts, before any call,
// the probability that each candidate model answers correctly, and routes to the cheapest model
// predicted to be right, with a cost/quality knob.
//
// Model: the text's words and adjacent word pairs (lower-cased ASCII, hashed), plus a length
// bucket, as binary features scaled to unit length; one L2-regularised logistic regression head
// per model over them (trained together with AdaGrad); each head calibrated by Platt scaling
// fitted on out-of-fold predictions (k-fold cross-fitting, so every training example serves both
// the model and its calibration, and the report's figures are out of sample). The L2 strength is
// chosen by the out-of-fold log-loss unless given.
//
// Saved as a models::Artifact of kind "router" (payload layout in learned_router.cpp).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/models/artifact.h"

namespace tandem::routing {

class RouterError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// How choose() trades predicted quality against cost (see choose_model). Measured with
// bench/routing/run.sh on RouterBench ARC (11 models, router trained on the train file, test
// file): utility's curve averages 0.9328 accuracy over the cost range [cheapest, GPT-4] against
// slack's 0.9306, and at 30% of GPT-4's cost reaches 0.9291 against 0.9222 (the random router:
// 0.9269). Slack ignores how much dearer the alternatives are, so with many models it buys small
// predicted gains at any price; utility weighs each gain against its cost. With two models both
// rank queries by p(strong) - p(weak) and give the same curve (MMLU: CPT(50%) 26.6% either way).
// Utility is the default.
enum class RoutingRule : std::uint32_t {
  // Maximise (1 - w) * p(m) - w * cost(m) / max cost: the Lagrangian of "most expected correct
  // answers within a budget", so the knob traces the best the predictions can buy.
  utility = 0,
  // The cheapest model whose p(m) >= max p - w.
  slack = 1,
};

struct RouterExample {
  std::string text;
  // Per model: the recorded score in [0, 1] (1 = correct); nullopt where the model has no answer.
  std::vector<std::optional<double>> correct;
  // Per model: the recorded cost (USD); nullopt where unknown.
  std::vector<std::optional<double>> cost;
};

struct RouterOptions {
  std::vector<std::string> models;  // one name per entry of RouterExample::correct
  std::size_t min_count = 2;        // features in fewer training texts are dropped
  // Features in more than this share of training texts are dropped too: shared boilerplate (a
  // fixed few-shot preamble, "Answer:") tells queries apart no better than the bias does, and
  // would dilute the unit-length scaling of the words that do.
  double max_doc_share = 0.5;
  double l2 = 0;  // > 0: this L2 strength; 0: chosen from a small grid
  int epochs = 12;
  double learning_rate = 0.3;  // AdaGrad's
  int folds = 5;               // cross-fitting for calibration and the report
  std::uint64_t seed = 1;
  RoutingRule rule = RoutingRule::utility;
};

struct ModelFigures {
  std::string name;
  std::size_t examples = 0;  // with a recorded score
  double base_rate = 0;      // share correct
  double mean_cost = 0;      // USD per query (0 when the data has no costs)
  // Out of fold, after calibration:
  double accuracy = 0;       // of "correct iff p >= 0.5"
  double auc = 0;            // ranking of right answers above wrong ones (0.5: no skill)
  double log_loss = 0;       // mean, natural log
  double base_log_loss = 0;  // of always predicting the base rate
};

struct RouterReport {
  std::vector<ModelFigures> models;
  std::size_t examples = 0;
  std::size_t features = 0;
  double l2 = 0;
};

// Area under the ROC curve of `scores` for binary `labels` (ties count half); 0.5 when either
// class is absent.
double roc_auc(const std::vector<double>& scores, const std::vector<bool>& labels);

struct TrainedRouter;

class RouterModel {
 public:
  const std::vector<std::string>& models() const { return models_; }
  // Per model, the mean recorded cost per query in the training data (0 where none was recorded).
  const std::vector<double>& mean_costs() const { return mean_costs_; }
  RoutingRule rule() const { return rule_; }
  void set_rule(RoutingRule rule) { rule_ = rule; }
  std::size_t features() const { return keys_.size(); }

  // Calibrated P(correct) per model.
  std::vector<double> predict(std::string_view text) const;

  // The model for this query: cost_weight in [0, 1] (0: best predicted quality, 1: cheapest);
  // `costs` per model (empty: mean_costs()). Throws std::invalid_argument on a bad size or knob.
  std::size_t choose(std::string_view text, double cost_weight,
                     const std::vector<double>& costs = {}) const;

  // The rule itself, on predictions already made (for sweeping the knob without predicting again).
  static std::size_t choose_model(const std::vector<double>& p, double cost_weight,
                                  const std::vector<double>& costs, RoutingRule rule);

  // Payload <-> model. from_payload throws RouterError naming the byte of the first problem.
  std::string encode_payload() const;
  static RouterModel from_payload(std::string_view payload);

  // Writes an artifact of kind "router" (meta.kind and version are set here).
  void save(const std::string& path, models::ArtifactMeta meta) const;
  // Throws models::ArtifactError or RouterError naming the file.
  static RouterModel load(const std::string& path);

 private:
  friend struct RouterTrainer;
  friend TrainedRouter train_router(const std::vector<RouterExample>&, const RouterOptions&);
  // The columns of the features of `text` (known ones only, each once) and its scale.
  void features_of(std::string_view text, std::vector<std::uint32_t>& cols) const;
  void build_index();

  std::vector<std::string> models_;
  std::vector<double> mean_costs_;
  RoutingRule rule_ = RoutingRule::utility;
  std::vector<float> bias_;     // per model
  std::vector<float> platt_a_;  // calibrated logit = a * raw logit + b
  std::vector<float> platt_b_;
  std::vector<std::uint64_t> keys_;   // feature hashes, sorted
  std::vector<float> weights_;        // features x models, row-major
  std::vector<std::uint32_t> slots_;  // open addressing: column + 1, 0 = empty
};

struct TrainedRouter {
  RouterModel model;
  RouterReport report;
};

// Throws std::invalid_argument on no examples, ragged examples, a model without any recorded
// score, scores outside [0, 1] or bad options.
TrainedRouter train_router(const std::vector<RouterExample>& examples,
                           const RouterOptions& options);

}  // namespace tandem::routing
