#include "tandem/models/recsys/recsys_metrics.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <string>

#include "tandem/models/recsys/random.h"

namespace tandem::models::recsys {
namespace {

using datasets::Rating;

std::vector<Rating> pick(std::span<const Rating> ratings, const std::vector<bool>& flags,
                         bool wanted) {
  std::vector<Rating> out;
  for (std::size_t k = 0; k < ratings.size(); ++k) {
    if (flags[k] == wanted) out.push_back(ratings[k]);
  }
  return out;
}

// For each place in the first k of `ranked`: 1 if it is a relevant item appearing there for the
// first time, else 0.
std::vector<char> hits_in_first_k(std::span<const std::uint32_t> ranked,
                                  std::span<const std::uint32_t> relevant, std::size_t k) {
  std::vector<std::uint32_t> rel(relevant.begin(), relevant.end());
  std::sort(rel.begin(), rel.end());
  const std::size_t places = std::min(k, ranked.size());
  std::vector<char> hits(places, 0);
  std::vector<std::uint32_t> seen;
  for (std::size_t p = 0; p < places; ++p) {
    const std::uint32_t item = ranked[p];
    if (std::find(seen.begin(), seen.end(), item) != seen.end()) continue;
    seen.push_back(item);
    hits[p] = std::binary_search(rel.begin(), rel.end(), item) ? 1 : 0;
  }
  return hits;
}

std::size_t distinct_count(std::span<const std::uint32_t> items) {
  std::vector<std::uint32_t> v(items.begin(), items.end());
  std::sort(v.begin(), v.end());
  return static_cast<std::size_t>(std::unique(v.begin(), v.end()) - v.begin());
}

std::vector<std::uint32_t> ids_of(const std::vector<ScoredItem>& items) {
  std::vector<std::uint32_t> out;
  out.reserve(items.size());
  for (const ScoredItem& s : items) out.push_back(s.item);
  return out;
}

std::vector<Rating> model_interactions(const MfModel& model) {
  const MfParameters& p = model.parameters();
  std::vector<Rating> out;
  out.reserve(p.rated_items.size());
  for (std::size_t u = 0; u < p.user_ids.size(); ++u) {
    for (std::uint64_t r = p.user_offsets[u]; r < p.user_offsets[u + 1]; ++r) {
      out.push_back({p.user_ids[u], p.item_ids[p.rated_items[r]], p.rated_values[r], 0});
    }
  }
  return out;
}

}  // namespace

Split random_split(std::span<const Rating> ratings, double test_fraction, std::uint64_t seed) {
  if (!(test_fraction > 0 && test_fraction < 1)) {
    throw RecsysError("recsys split: test fraction must be between 0 and 1, not " +
                      std::to_string(test_fraction));
  }
  std::vector<std::uint32_t> order(ratings.size());
  std::iota(order.begin(), order.end(), 0u);
  detail::Random random(seed);
  random.shuffle(order.data(), order.size());
  const auto test_count =
      static_cast<std::size_t>(std::llround(static_cast<double>(ratings.size()) * test_fraction));
  std::vector<bool> is_test(ratings.size(), false);
  for (std::size_t k = 0; k < test_count; ++k) is_test[order[k]] = true;
  return {pick(ratings, is_test, false), pick(ratings, is_test, true)};
}

Split leave_last_out(std::span<const Rating> ratings, std::size_t per_user) {
  if (per_user < 1) throw RecsysError("recsys split: leave_last_out needs per_user >= 1");
  std::vector<std::uint32_t> order(ratings.size());
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
    const Rating& x = ratings[a];
    const Rating& y = ratings[b];
    if (x.user != y.user) return x.user < y.user;
    if (x.timestamp != y.timestamp) return x.timestamp < y.timestamp;
    if (x.item != y.item) return x.item < y.item;
    return a < b;
  });
  std::vector<bool> is_test(ratings.size(), false);
  for (std::size_t begin = 0; begin < order.size();) {
    std::size_t end = begin;
    while (end < order.size() && ratings[order[end]].user == ratings[order[begin]].user) ++end;
    if (end - begin > per_user) {
      for (std::size_t k = end - per_user; k < end; ++k) is_test[order[k]] = true;
    }
    begin = end;
  }
  return {pick(ratings, is_test, false), pick(ratings, is_test, true)};
}

double precision_at_k(std::span<const std::uint32_t> ranked,
                      std::span<const std::uint32_t> relevant, std::size_t k) {
  if (k == 0 || relevant.empty()) return 0.0;
  const std::vector<char> hits = hits_in_first_k(ranked, relevant, k);
  return static_cast<double>(std::count(hits.begin(), hits.end(), 1)) / static_cast<double>(k);
}

double recall_at_k(std::span<const std::uint32_t> ranked, std::span<const std::uint32_t> relevant,
                   std::size_t k) {
  if (k == 0 || relevant.empty()) return 0.0;
  const std::vector<char> hits = hits_in_first_k(ranked, relevant, k);
  return static_cast<double>(std::count(hits.begin(), hits.end(), 1)) /
         static_cast<double>(distinct_count(relevant));
}

double ndcg_at_k(std::span<const std::uint32_t> ranked, std::span<const std::uint32_t> relevant,
                 std::size_t k) {
  if (k == 0 || relevant.empty()) return 0.0;
  const std::vector<char> hits = hits_in_first_k(ranked, relevant, k);
  double dcg = 0;
  for (std::size_t p = 0; p < hits.size(); ++p) {
    if (hits[p]) dcg += 1.0 / std::log2(static_cast<double>(p) + 2.0);
  }
  double ideal = 0;
  const std::size_t ideal_hits = std::min(k, distinct_count(relevant));
  for (std::size_t p = 0; p < ideal_hits; ++p)
    ideal += 1.0 / std::log2(static_cast<double>(p) + 2.0);
  return dcg / ideal;
}

RatingErrors rating_errors(const std::function<float(std::uint32_t, std::uint32_t)>& predict,
                           std::span<const Rating> test) {
  if (test.empty()) throw RecsysError("recsys evaluation: the test set is empty");
  double squared = 0;
  double absolute = 0;
  for (const Rating& r : test) {
    const double e = static_cast<double>(predict(r.user, r.item)) - r.rating;
    squared += e * e;
    absolute += std::abs(e);
  }
  RatingErrors out;
  out.count = test.size();
  out.rmse = std::sqrt(squared / static_cast<double>(test.size()));
  out.mae = absolute / static_cast<double>(test.size());
  return out;
}

RankingScores evaluate_ranking(const Ranker& ranker, std::span<const Rating> test, std::size_t k,
                               std::optional<float> min_relevant_rating) {
  if (k == 0) throw RecsysError("recsys evaluation: k must be at least 1");
  std::vector<std::pair<std::uint32_t, std::uint32_t>> relevant;  // (user, item)
  for (const Rating& r : test) {
    if (!std::isfinite(r.rating)) {
      throw RecsysError("recsys evaluation: a test rating (user " + std::to_string(r.user) +
                        ", item " + std::to_string(r.item) + ") is not a finite number");
    }
    if (min_relevant_rating && r.rating < *min_relevant_rating) continue;
    relevant.emplace_back(r.user, r.item);
  }
  std::sort(relevant.begin(), relevant.end());
  relevant.erase(std::unique(relevant.begin(), relevant.end()), relevant.end());
  RankingScores out;
  out.k = k;
  std::vector<std::uint32_t> items;
  for (std::size_t begin = 0; begin < relevant.size();) {
    std::size_t end = begin;
    items.clear();
    while (end < relevant.size() && relevant[end].first == relevant[begin].first) {
      items.push_back(relevant[end].second);
      ++end;
    }
    const std::vector<std::uint32_t> ranked = ranker(relevant[begin].first, k);
    const double precision = precision_at_k(ranked, items, k);
    out.precision += precision;
    out.recall += recall_at_k(ranked, items, k);
    out.ndcg += ndcg_at_k(ranked, items, k);
    out.hit_rate += precision > 0 ? 1.0 : 0.0;
    ++out.users;
    begin = end;
  }
  if (out.users == 0) {
    throw RecsysError("recsys evaluation: no test user has a relevant item");
  }
  const auto users = static_cast<double>(out.users);
  out.precision /= users;
  out.recall /= users;
  out.ndcg /= users;
  out.hit_rate /= users;
  return out;
}

PopularityBaseline::PopularityBaseline(std::span<const Rating> train, float damping) {
  build(std::vector<Rating>(train.begin(), train.end()), damping);
}

PopularityBaseline::PopularityBaseline(const MfModel& model, float damping) {
  build(model_interactions(model), damping);
}

void PopularityBaseline::build(std::vector<Rating> train, float damping) {
  if (train.empty()) throw RecsysError("recsys baseline: no training ratings");
  if (!(damping >= 0 && std::isfinite(damping))) {
    throw RecsysError("recsys baseline: damping must be finite and >= 0");
  }
  double sum = 0;
  for (const Rating& r : train) {
    if (!std::isfinite(r.rating)) {
      throw RecsysError("recsys baseline: a training rating (user " + std::to_string(r.user) +
                        ", item " + std::to_string(r.item) + ") is not a finite number");
    }
    sum += r.rating;
  }
  global_mean_ = static_cast<float>(sum / static_cast<double>(train.size()));

  std::sort(train.begin(), train.end(), [](const Rating& a, const Rating& b) {
    return a.item < b.item || (a.item == b.item && a.user < b.user);
  });
  std::vector<std::uint32_t> counts;
  for (std::size_t begin = 0; begin < train.size();) {
    std::size_t end = begin;
    double item_sum = 0;
    while (end < train.size() && train[end].item == train[begin].item)
      item_sum += train[end++].rating;
    const auto n = static_cast<double>(end - begin);
    item_ids_.push_back(train[begin].item);
    item_mean_.push_back(static_cast<float>((item_sum + damping * global_mean_) / (n + damping)));
    counts.push_back(static_cast<std::uint32_t>(end - begin));
    begin = end;
  }
  std::vector<std::uint32_t> idx(item_ids_.size());
  std::iota(idx.begin(), idx.end(), 0u);
  std::stable_sort(idx.begin(), idx.end(),
                   [&](std::uint32_t a, std::uint32_t b) { return counts[a] > counts[b]; });
  order_.reserve(idx.size());
  for (std::uint32_t i : idx) order_.push_back(item_ids_[i]);

  std::sort(train.begin(), train.end(), [](const Rating& a, const Rating& b) {
    return a.user < b.user || (a.user == b.user && a.item < b.item);
  });
  user_offsets_.push_back(0);
  for (std::size_t k = 0; k < train.size(); ++k) {
    if (k > 0 && train[k].user != train[k - 1].user) user_offsets_.push_back(user_items_.size());
    if (k == 0 || train[k].user != train[k - 1].user) user_ids_.push_back(train[k].user);
    user_items_.push_back(train[k].item);
  }
  user_offsets_.push_back(user_items_.size());
}

float PopularityBaseline::predict(std::uint32_t /*user*/, std::uint32_t item) const noexcept {
  const auto it = std::lower_bound(item_ids_.begin(), item_ids_.end(), item);
  if (it == item_ids_.end() || *it != item) return global_mean_;
  return item_mean_[static_cast<std::size_t>(it - item_ids_.begin())];
}

std::vector<std::uint32_t> PopularityBaseline::top_n(std::uint32_t user, std::size_t n) const {
  std::span<const std::uint32_t> rated;
  const auto u = std::lower_bound(user_ids_.begin(), user_ids_.end(), user);
  if (u != user_ids_.end() && *u == user) {
    const auto k = static_cast<std::size_t>(u - user_ids_.begin());
    rated = std::span<const std::uint32_t>(user_items_)
                .subspan(user_offsets_[k], user_offsets_[k + 1] - user_offsets_[k]);
  }
  std::vector<std::uint32_t> out;
  out.reserve(std::min(n, order_.size()));
  for (std::uint32_t item : order_) {
    if (out.size() >= n) break;
    if (!std::binary_search(rated.begin(), rated.end(), item)) out.push_back(item);
  }
  return out;
}

RecsysReport evaluate(const MfModel& model, std::span<const Rating> test,
                      const EvalOptions& options) {
  if (test.empty()) throw RecsysError("recsys evaluation: the test set is empty");
  const PopularityBaseline baseline(model);
  RecsysReport report;
  std::size_t unknown_users = 0;
  std::size_t unknown_items = 0;
  for (const Rating& r : test) {
    if (!model.has_user(r.user)) ++unknown_users;
    if (!model.has_item(r.item)) ++unknown_items;
  }
  if (model.feedback() == Feedback::kExplicit) {
    report.model_errors =
        rating_errors([&](std::uint32_t u, std::uint32_t i) { return model.predict(u, i); }, test);
    report.model_errors->unknown_users = unknown_users;
    report.model_errors->unknown_items = unknown_items;
  }
  report.baseline_errors =
      rating_errors([&](std::uint32_t u, std::uint32_t i) { return baseline.predict(u, i); }, test);
  report.baseline_errors.unknown_users = unknown_users;
  report.baseline_errors.unknown_items = unknown_items;
  report.model_ranking = evaluate_ranking(
      [&](std::uint32_t user, std::size_t k) { return ids_of(model.recommend(user, k).items); },
      test, options.k, options.min_relevant_rating);
  report.baseline_ranking =
      evaluate_ranking([&](std::uint32_t user, std::size_t k) { return baseline.top_n(user, k); },
                       test, options.k, options.min_relevant_rating);
  return report;
}

ProtocolReport run_protocol(std::span<const Rating> ratings, const TrainOptions& options,
                            const ProtocolOptions& protocol, const ProgressCallback& progress) {
  using Clock = std::chrono::steady_clock;
  ProtocolReport out;
  {
    const Split split = random_split(ratings, protocol.test_fraction, protocol.split_seed);
    const Clock::time_point start = Clock::now();
    const MfModel model = train(split.train, options, progress);
    out.train_seconds_random = std::chrono::duration<double>(Clock::now() - start).count();
    out.random_split = evaluate(model, split.test, protocol.eval);
  }
  {
    const Split split = leave_last_out(ratings, 1);
    const Clock::time_point start = Clock::now();
    const MfModel model = train(split.train, options, progress);
    out.train_seconds_last = std::chrono::duration<double>(Clock::now() - start).count();
    out.leave_last_out = evaluate(model, split.test, protocol.eval);
  }
  return out;
}

}  // namespace tandem::models::recsys
