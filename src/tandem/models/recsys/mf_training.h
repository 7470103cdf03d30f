#pragma once
// Training the matrix-factorisation recommender (mf_model.h), seeded and reproducible: the same
// ratings, options and seed give a bit-identical model (single-threaded; no std:: distributions).
//
//   explicit  biased MF (Koren, Bell, Volinsky 2009): rating ~ mu + b_u + b_i + p_u . q_i. Two
//             solvers:
//             gibbs  (default) Bayesian MF (Salakhutdinov, Mnih 2008, "BPMF") with the biases
//                    as one more dimension: Gaussian priors on the user and item vectors whose
//                    means and precisions have Normal-Wishart hyperpriors, sampled by Gibbs
//                    sampling; the model is the average of the samples after the burn-in. No
//                    learning rate or L2 weight to tune: the priors regularise, learned from
//                    the data. On ml-latest-small it beats tuned SGD by about 0.006 RMSE.
//             sgd    stochastic gradient descent on the squared error with L2 on factors and
//                    biases, in a seeded random order each epoch, with a decaying learning rate.
//   implicit  ALS with confidence weighting (Hu, Koren, Volinsky 2008): every observed (user,
//             item) is a preference of 1 with confidence 1 + alpha x value, every unobserved one a
//             preference of 0 with confidence 1; alternating least squares, each solve by a few
//             conjugate-gradient steps warm-started from the last (Takacs, Pilaszy, Tikk 2011).
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "tandem/datasets/ratings.h"
#include "tandem/models/recsys/mf_model.h"

namespace tandem::models::recsys {

enum class ExplicitSolver : std::uint8_t { kGibbs = 0, kSgd = 1 };

// "gibbs" / "sgd"; solver_from_string throws RecsysError on anything else.
std::string_view to_string(ExplicitSolver solver);
ExplicitSolver solver_from_string(std::string_view name);

struct TrainOptions {
  Feedback feedback = Feedback::kExplicit;
  ExplicitSolver solver = ExplicitSolver::kGibbs;  // explicit only
  int factors = 0;  // length of the user and item vectors (1 to 1024)
  // gibbs: sweeps in all (burn-in included); sgd: epochs; implicit: ALS sweeps (users, items).
  int iterations = 0;
  std::uint64_t seed = 42;
  float init_std = 0;  // factors (and gibbs: biases) start as N(0, init_std^2)

  // Explicit, gibbs.
  int burn_in = 0;            // first sweeps not averaged (< iterations)
  float noise_precision = 0;  // 1 / variance of a rating around its prediction (BPMF's alpha)

  // Explicit, sgd.
  float learning_rate = 0;        // of epoch 0
  float learning_rate_decay = 0;  // multiplied in after every epoch (0 < decay <= 1)
  float regularization = 0;       // L2 on the factors
  float bias_regularization = 0;  // L2 on the biases

  // Implicit (ALS).
  float alpha = 0;                    // confidence = 1 + alpha x value
  float implicit_regularization = 0;  // L2 (lambda) on the factors

  // Defaults chosen on ml-latest-small with a validation split other than the reported one
  // (bench/recsys/README.md). explicit_defaults uses gibbs; sgd_defaults is the SGD solver's.
  static TrainOptions explicit_defaults();
  static TrainOptions sgd_defaults();
  static TrainOptions implicit_defaults();

  // Throws RecsysError naming the first option out of range.
  void validate() const;
  // The options as text, for ArtifactMeta::params ("factors" -> "64", ...): only those that
  // apply to the feedback kind.
  std::map<std::string, std::string> to_params() const;
};

struct TrainProgress {
  int iteration = 0;  // 1-based: the one just finished
  int iterations = 0;
  // Explicit gibbs: RMSE over the training ratings of the current sample during the burn-in,
  // of the average so far after it. Explicit sgd: RMSE over the training ratings during the
  // epoch (each error measured just before its update). Implicit: the weighted squared error plus
  // the L2 term, over all user-item pairs, divided by the number of users x items.
  double loss = 0;
  double seconds = 0;  // since training started
};

// Called after every iteration, on the training thread.
using ProgressCallback = std::function<void(const TrainProgress&)>;

// Train on `ratings` (user, item, value; the timestamp is not used). Throws RecsysError for
// empty data, a non-finite value, a (user, item) pair that appears twice, a negative value in
// implicit mode, or invalid options.
MfModel train_explicit(std::span<const datasets::Rating> ratings, const TrainOptions& options,
                       const ProgressCallback& progress = {});
MfModel train_implicit(std::span<const datasets::Rating> ratings, const TrainOptions& options,
                       const ProgressCallback& progress = {});
// One of the two, by options.feedback.
MfModel train(std::span<const datasets::Rating> ratings, const TrainOptions& options,
              const ProgressCallback& progress = {});

}  // namespace tandem::models::recsys
