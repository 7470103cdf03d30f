#pragma once
// Evaluating the recommender (issue 4): the splits, rating errors (RMSE, MAE), top-k ranking
// metrics (precision@k, recall@k, NDCG@k) and the popularity baseline they are compared with.
//
// The protocol used by the benchmark, the real-data test and `tandem eval`:
//   - rating errors on a seeded random 80/20 split of the ratings (random_split);
//   - ranking metrics on a leave-last-out split (leave_last_out): each user's latest rating is
//     held out, the model is trained on the rest, and for each user the k items it ranks first
//     among those the user has not rated in training are compared with the held-out one.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "tandem/datasets/ratings.h"
#include "tandem/models/recsys/mf_model.h"
#include "tandem/models/recsys/mf_training.h"

namespace tandem::models::recsys {

struct Split {
  std::vector<datasets::Rating> train;
  std::vector<datasets::Rating> test;
};

// Each rating goes to test with probability about test_fraction: a seeded shuffle (the same on
// every platform), then the first round(size x test_fraction) ratings are the test set. Both keep
// the input order. Users and items may appear in test only (they count as unknown there).
// Throws RecsysError unless 0 < test_fraction < 1.
Split random_split(std::span<const datasets::Rating> ratings, double test_fraction,
                   std::uint64_t seed);

// For every user with more than `per_user` ratings, the `per_user` latest by timestamp go to test
// (equal timestamps: the larger item id counts as later, so the split does not depend on the
// input order); users with fewer stay entirely in train. Throws RecsysError if per_user < 1.
Split leave_last_out(std::span<const datasets::Rating> ratings, std::size_t per_user = 1);

// --- Metrics on one ranked list (binary relevance). `ranked` is best first; an item that
// appears twice counts only where it first appears; `relevant` holds distinct items, any order.
// All three are 0 when `relevant` is empty (evaluate_ranking skips such users) or k is 0.
// precision@k = hits in the first k / k (a list shorter than k is not padded: missing places
//               count as misses).
// recall@k    = hits in the first k / |relevant|.
// NDCG@k      = DCG / ideal DCG, DCG = sum over hits at 1-based place p <= k of 1 / log2(p + 1),
//               ideal DCG = the same for min(k, |relevant|) hits in the first places.
double precision_at_k(std::span<const std::uint32_t> ranked,
                      std::span<const std::uint32_t> relevant, std::size_t k);
double recall_at_k(std::span<const std::uint32_t> ranked, std::span<const std::uint32_t> relevant,
                   std::size_t k);
double ndcg_at_k(std::span<const std::uint32_t> ranked, std::span<const std::uint32_t> relevant,
                 std::size_t k);

struct RatingErrors {
  double rmse = 0;
  double mae = 0;
  std::size_t count = 0;          // test ratings predicted
  std::size_t unknown_users = 0;  // of those, with a user the model has not seen
  std::size_t unknown_items = 0;  // ... an item it has not seen
};

struct RankingScores {
  std::size_t k = 0;
  double precision = 0;  // means over the users evaluated
  double recall = 0;
  double ndcg = 0;
  double hit_rate = 0;  // share of users with at least one relevant item in their first k
  std::size_t users = 0;
};

// A ranker: the k best item ids for a user, best first, leaving out what the user rated in
// training.
using Ranker = std::function<std::vector<std::uint32_t>(std::uint32_t user, std::size_t k)>;

// Rating errors of any predictor over `test` (unknown_users / unknown_items stay 0: evaluate
// fills them in). Throws RecsysError if `test` is empty.
RatingErrors rating_errors(const std::function<float(std::uint32_t, std::uint32_t)>& predict,
                           std::span<const datasets::Rating> test);

// Ranking metrics over the users of `test`: each user's relevant items are their test items
// (with min_relevant_rating, only those rated at least that). Users with no relevant item are
// skipped. Throws RecsysError if no user is left.
RankingScores evaluate_ranking(const Ranker& ranker, std::span<const datasets::Rating> test,
                               std::size_t k,
                               std::optional<float> min_relevant_rating = std::nullopt);

// The baseline: ranks items by their number of training ratings (ties: smaller id first), never
// one the user rated in training, and predicts an item's damped mean rating
// (sum + damping x global mean) / (count + damping), the global mean for an unknown item.
class PopularityBaseline {
 public:
  explicit PopularityBaseline(std::span<const datasets::Rating> train, float damping = 5.0f);
  // From a model's own training interactions (what `tandem eval` has with an artifact).
  explicit PopularityBaseline(const MfModel& model, float damping = 5.0f);

  float predict(std::uint32_t user, std::uint32_t item) const noexcept;
  std::vector<std::uint32_t> top_n(std::uint32_t user, std::size_t n) const;

 private:
  void build(std::vector<datasets::Rating> train, float damping);

  std::vector<std::uint32_t> item_ids_;  // sorted
  std::vector<float> item_mean_;         // damped mean, by index into item_ids_
  std::vector<std::uint32_t> order_;     // item ids by popularity
  std::vector<std::uint32_t> user_ids_;  // sorted
  std::vector<std::uint64_t> user_offsets_;
  std::vector<std::uint32_t> user_items_;  // item ids, sorted per user
  float global_mean_ = 0;
};

// What `tandem eval` reports for a model on a test set, beside the popularity baseline built from
// the model's own training data. Rating errors only for an explicit model.
struct RecsysReport {
  std::optional<RatingErrors> model_errors;
  RatingErrors baseline_errors;
  RankingScores model_ranking;
  RankingScores baseline_ranking;
};

struct EvalOptions {
  std::size_t k = 10;
  std::optional<float> min_relevant_rating;
};

// Rating errors (explicit models) and ranking metrics of the model's recommend() (popularity for
// a user it does not know) over `test`, and the same for the baseline. Throws RecsysError if
// `test` is empty or has no relevant item.
RecsysReport evaluate(const MfModel& model, std::span<const datasets::Rating> test,
                      const EvalOptions& options = {});

// The whole protocol on one ratings file (the benchmark; `tandem eval` may offer it too): trains
// on the 80/20 split and reports the rating errors
// (and ranking on the 20 %), then trains again on the leave-last-out split and reports the
// ranking there. Both trainings use `options` (explicit or implicit).
struct ProtocolReport {
  RecsysReport random_split;    // trained on 80 %, tested on 20 %
  RecsysReport leave_last_out;  // trained on all but each user's latest, tested on that
  double train_seconds_random = 0;
  double train_seconds_last = 0;
};

struct ProtocolOptions {
  double test_fraction = 0.2;
  std::uint64_t split_seed = 42;
  EvalOptions eval;
};

ProtocolReport run_protocol(std::span<const datasets::Rating> ratings, const TrainOptions& options,
                            const ProtocolOptions& protocol = {},
                            const ProgressCallback& progress = {});

}  // namespace tandem::models::recsys
