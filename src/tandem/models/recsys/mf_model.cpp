#include "tandem/models/recsys/mf_model.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

namespace tandem::models::recsys {
namespace {

constexpr float kExcluded = -std::numeric_limits<float>::infinity();

void require(bool ok, const std::string& what) {
  if (!ok) throw RecsysError("recsys model: " + what);
}

bool all_finite(const Eigen::MatrixXf& m) {
  return m.allFinite();
}

bool strictly_increasing(const std::vector<std::uint32_t>& ids) {
  return std::adjacent_find(ids.begin(), ids.end(), std::greater_equal<>()) == ids.end();
}

std::optional<std::uint32_t> find_index(const std::vector<std::uint32_t>& ids,
                                        std::uint32_t id) noexcept {
  const auto it = std::lower_bound(ids.begin(), ids.end(), id);
  if (it == ids.end() || *it != id) return std::nullopt;
  return static_cast<std::uint32_t>(it - ids.begin());
}

// Score buffer reused by the queries of one thread (no allocation per query after the first).
Eigen::VectorXf& score_buffer(Eigen::Index size) {
  thread_local Eigen::VectorXf buffer;
  if (buffer.size() != size) buffer.resize(size);
  return buffer;
}

}  // namespace

std::string_view to_string(Feedback feedback) {
  return feedback == Feedback::kImplicit ? "implicit" : "explicit";
}

Feedback feedback_from_string(std::string_view name) {
  if (name == "explicit") return Feedback::kExplicit;
  if (name == "implicit") return Feedback::kImplicit;
  throw RecsysError("recsys: feedback must be 'explicit' or 'implicit', not '" + std::string(name) +
                    "'");
}

MfModel::MfModel(MfParameters params) : p_(std::move(params)) {
  require(p_.feedback == Feedback::kExplicit || p_.feedback == Feedback::kImplicit,
          "unknown feedback kind " + std::to_string(static_cast<int>(p_.feedback)));
  const std::size_t users = p_.user_ids.size();
  const std::size_t items = p_.item_ids.size();
  require(users > 0, "no users");
  require(items > 0, "no items");
  require(users <= std::numeric_limits<std::uint32_t>::max() &&
              items <= std::numeric_limits<std::uint32_t>::max(),
          "too many users or items");
  require(strictly_increasing(p_.user_ids), "user ids are not strictly increasing");
  require(strictly_increasing(p_.item_ids), "item ids are not strictly increasing");
  const Eigen::Index k = p_.item_factors.rows();
  require(k > 0, "no factors");
  require(p_.user_factors.rows() == k, "user and item factors differ in length (" +
                                           std::to_string(p_.user_factors.rows()) + " vs " +
                                           std::to_string(k) + ")");
  require(static_cast<std::size_t>(p_.user_factors.cols()) == users,
          "user factors are not one per user");
  require(static_cast<std::size_t>(p_.item_factors.cols()) == items,
          "item factors are not one per item");
  require(static_cast<std::size_t>(p_.user_bias.size()) == users, "user biases: wrong count");
  require(static_cast<std::size_t>(p_.item_bias.size()) == items, "item biases: wrong count");
  require(all_finite(p_.user_factors) && all_finite(p_.item_factors) && p_.user_bias.allFinite() &&
              p_.item_bias.allFinite(),
          "factors or biases are not all finite");
  require(std::isfinite(p_.global_mean) && std::isfinite(p_.min_rating) &&
              std::isfinite(p_.max_rating) && p_.min_rating <= p_.max_rating,
          "global mean or rating range is not finite and ordered");
  require(p_.user_offsets.size() == users + 1, "user offsets: not users + 1 of them");
  require(p_.user_offsets.front() == 0, "user offsets: the first is not 0");
  require(p_.rated_items.size() == p_.rated_values.size(),
          "rated items and values differ in count");
  require(p_.user_offsets.back() == p_.rated_items.size(),
          "user offsets: the last is not the number of interactions");
  item_counts_.assign(items, 0);
  for (std::size_t u = 0; u < users; ++u) {
    const std::uint64_t begin = p_.user_offsets[u];
    const std::uint64_t end = p_.user_offsets[u + 1];
    require(begin <= end && end <= p_.rated_items.size(),
            "user offsets decrease or overrun at user " + std::to_string(p_.user_ids[u]));
    for (std::uint64_t r = begin; r < end; ++r) {
      const std::uint32_t item = p_.rated_items[r];
      require(item < items, "interaction of user " + std::to_string(p_.user_ids[u]) +
                                " names item index " + std::to_string(item) + " of " +
                                std::to_string(items));
      require(r == begin || p_.rated_items[r - 1] < item,
              "items of user " + std::to_string(p_.user_ids[u]) + " are not strictly increasing");
      require(std::isfinite(p_.rated_values[r]),
              "a value of user " + std::to_string(p_.user_ids[u]) + " is not finite");
      ++item_counts_[item];
    }
  }
  popular_order_.resize(items);
  std::iota(popular_order_.begin(), popular_order_.end(), 0u);
  std::stable_sort(
      popular_order_.begin(), popular_order_.end(),
      [&](std::uint32_t a, std::uint32_t b) { return item_counts_[a] > item_counts_[b]; });
  item_norms_ = p_.item_factors.colwise().norm().transpose();
  item_rows_ = p_.item_factors.transpose();
}

std::size_t MfModel::memory_bytes() const noexcept {
  return sizeof(float) * static_cast<std::size_t>(p_.user_factors.size() + p_.item_factors.size() +
                                                  p_.user_bias.size() + p_.item_bias.size()) +
         sizeof(std::uint32_t) * (p_.user_ids.size() + p_.item_ids.size()) +
         sizeof(std::uint64_t) * p_.user_offsets.size() +
         (sizeof(std::uint32_t) + sizeof(float)) * p_.rated_items.size() +
         sizeof(float) * static_cast<std::size_t>(item_rows_.size() + item_norms_.size()) +
         sizeof(std::uint32_t) * (item_counts_.size() + popular_order_.size());
}

std::optional<std::uint32_t> MfModel::user_index(std::uint32_t user) const noexcept {
  return find_index(p_.user_ids, user);
}

std::optional<std::uint32_t> MfModel::item_index(std::uint32_t item) const noexcept {
  return find_index(p_.item_ids, item);
}

std::span<const std::uint32_t> MfModel::rated_span(std::uint32_t user_idx) const noexcept {
  const auto begin = static_cast<std::size_t>(p_.user_offsets[user_idx]);
  const auto end = static_cast<std::size_t>(p_.user_offsets[user_idx + 1]);
  return std::span<const std::uint32_t>(p_.rated_items).subspan(begin, end - begin);
}

float MfModel::predict(std::uint32_t user, std::uint32_t item) const noexcept {
  const auto u = user_index(user);
  const auto i = item_index(item);
  if (p_.feedback == Feedback::kImplicit) {
    if (!u || !i) return 0.0f;
    return p_.user_factors.col(*u).dot(p_.item_factors.col(*i));
  }
  float value = p_.global_mean;
  if (u) value += p_.user_bias[*u];
  if (i) value += p_.item_bias[*i];
  if (u && i) value += p_.user_factors.col(*u).dot(p_.item_factors.col(*i));
  return std::clamp(value, p_.min_rating, p_.max_rating);
}

std::vector<ScoredItem> MfModel::select_top(Eigen::VectorXf& scores, std::size_t n,
                                            std::span<const std::uint32_t> excluded_sorted,
                                            std::optional<std::uint32_t> excluded_one) const {
  // Excluded items get -inf and are never taken; the rest compete in a heap of n whose front is
  // the worst kept so far. Indices rise during the scan, so a later item with an equal score
  // never displaces an earlier one: ties go to the smaller index, i.e. the smaller id.
  Eigen::VectorXf& s = scores;
  for (std::uint32_t idx : excluded_sorted) s[idx] = kExcluded;
  if (excluded_one) s[*excluded_one] = kExcluded;
  struct Candidate {
    float score;
    std::uint32_t idx;
  };
  const auto better = [](const Candidate& a, const Candidate& b) {
    return a.score > b.score || (a.score == b.score && a.idx < b.idx);
  };
  std::vector<Candidate> heap;
  n = std::min<std::size_t>(n, static_cast<std::size_t>(s.size()));
  heap.reserve(n);
  const float* data = s.data();
  const auto count = static_cast<std::uint32_t>(s.size());
  if (n > 0) {
    for (std::uint32_t idx = 0; idx < count; ++idx) {
      const float v = data[idx];
      if (heap.size() < n) {
        if (v == kExcluded) continue;
        heap.push_back({v, idx});
        std::push_heap(heap.begin(), heap.end(), better);
      } else if (v > heap.front().score) {
        std::pop_heap(heap.begin(), heap.end(), better);
        heap.back() = {v, idx};
        std::push_heap(heap.begin(), heap.end(), better);
      }
    }
  }
  std::sort(heap.begin(), heap.end(), better);
  std::vector<ScoredItem> out;
  out.reserve(heap.size());
  for (const Candidate& c : heap) out.push_back({p_.item_ids[c.idx], c.score});
  return out;
}

std::vector<ScoredItem> MfModel::top_n(std::uint32_t user, std::size_t n) const {
  const auto u = user_index(user);
  if (!u) throw RecsysError("recsys: unknown user " + std::to_string(user));
  Eigen::VectorXf& scores = score_buffer(p_.item_factors.cols());
  scores.noalias() = item_rows_ * p_.user_factors.col(*u);
  float offset = 0;
  if (p_.feedback == Feedback::kExplicit) {
    scores += p_.item_bias;
    offset = p_.global_mean + p_.user_bias[*u];
  }
  std::vector<ScoredItem> out = select_top(scores, n, rated_span(*u), std::nullopt);
  if (p_.feedback == Feedback::kExplicit) {
    for (ScoredItem& s : out) s.score = std::clamp(s.score + offset, p_.min_rating, p_.max_rating);
  }
  return out;
}

Recommendation MfModel::recommend(std::uint32_t user, std::size_t n) const {
  if (!has_user(user)) return {popular(n), true};
  return {top_n(user, n), false};
}

std::vector<ScoredItem> MfModel::popular(std::size_t n,
                                         std::optional<std::uint32_t> exclude_rated_by) const {
  std::span<const std::uint32_t> rated;
  if (exclude_rated_by) {
    if (const auto u = user_index(*exclude_rated_by)) rated = rated_span(*u);
  }
  std::vector<ScoredItem> out;
  out.reserve(std::min(n, popular_order_.size()));
  for (std::uint32_t idx : popular_order_) {
    if (out.size() >= n) break;
    if (std::binary_search(rated.begin(), rated.end(), idx)) continue;
    out.push_back({p_.item_ids[idx], static_cast<float>(item_counts_[idx])});
  }
  return out;
}

std::vector<ScoredItem> MfModel::similar_items(std::uint32_t item, std::size_t n) const {
  const auto i = item_index(item);
  if (!i) throw RecsysError("recsys: unknown item " + std::to_string(item));
  Eigen::VectorXf& scores = score_buffer(p_.item_factors.cols());
  scores.noalias() = item_rows_ * p_.item_factors.col(*i);
  // An all-zero vector has no direction: its cosine with anything is taken as 0.
  const float norm = item_norms_[*i];
  scores.array() /= (item_norms_.array() * norm).max(std::numeric_limits<float>::min());
  return select_top(scores, n, {}, *i);
}

std::vector<ExplanationItem> MfModel::explain(std::uint32_t user, std::uint32_t item,
                                              std::size_t n) const {
  const auto u = user_index(user);
  if (!u) throw RecsysError("recsys: unknown user " + std::to_string(user));
  const auto i = item_index(item);
  if (!i) throw RecsysError("recsys: unknown item " + std::to_string(item));
  const auto begin = static_cast<std::size_t>(p_.user_offsets[*u]);
  const auto end = static_cast<std::size_t>(p_.user_offsets[*u + 1]);
  float threshold = std::numeric_limits<float>::lowest();
  if (p_.feedback == Feedback::kExplicit && end > begin) {
    double sum = 0;
    for (std::size_t r = begin; r < end; ++r) sum += p_.rated_values[r];
    threshold = static_cast<float>(sum / static_cast<double>(end - begin));
  }
  const auto target = p_.item_factors.col(*i);
  const float target_norm = item_norms_[*i];
  std::vector<ExplanationItem> out;
  for (std::size_t r = begin; r < end; ++r) {
    const std::uint32_t j = p_.rated_items[r];
    const float value = p_.rated_values[r];
    if (j == *i || value < threshold) continue;
    const float denom = target_norm * item_norms_[j];
    if (!(denom > 0)) continue;
    const float similarity = p_.item_factors.col(j).dot(target) / denom;
    if (!(similarity > 0)) continue;
    const float scale = p_.max_rating > 0 ? value / p_.max_rating : 1.0f;
    out.push_back({p_.item_ids[j], value, similarity, similarity * scale});
  }
  std::sort(out.begin(), out.end(), [](const ExplanationItem& a, const ExplanationItem& b) {
    return a.weight > b.weight || (a.weight == b.weight && a.item < b.item);
  });
  if (out.size() > n) out.resize(n);
  return out;
}

std::vector<ScoredItem> MfModel::rated_by(std::uint32_t user) const {
  std::vector<ScoredItem> out;
  const auto u = user_index(user);
  if (!u) return out;
  for (std::size_t r = p_.user_offsets[*u]; r < p_.user_offsets[*u + 1]; ++r) {
    out.push_back({p_.item_ids[p_.rated_items[r]], p_.rated_values[r]});
  }
  return out;
}

}  // namespace tandem::models::recsys
