#include "tandem/routing/learned_router.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>

#include "tandem/models/byte_io.h"

namespace tandem::routing {

// Payload layout (little-endian), version 1:
//   "TDMROUTE"  u32 layout version (1)  u32 models  u32 rule  u32 reserved (0)  u64 features
//   per model: blob name, u64 mean cost (IEEE double bits), f32 bias, f32 platt a, f32 platt b
//   u64[features] feature keys (sorted, distinct), f32[features][models] weights
namespace {

constexpr char kMagic[8] = {'T', 'D', 'M', 'R', 'O', 'U', 'T', 'E'};
constexpr std::uint32_t kLayoutVersion = 1;
constexpr std::uint32_t kMaxModels = 4096;
constexpr std::uint64_t kMaxFeatures = std::uint64_t{1} << 28;

using Reader = models::ByteReader<RouterError>;

std::uint64_t mix64(std::uint64_t z) noexcept {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

constexpr std::uint64_t kFnvOffset = 0xcbf29ce484222325ull;
constexpr std::uint64_t kFnvPrime = 0x100000001b3ull;

bool word_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

// Calls emit(key) for every word (a run of ASCII letters and digits, lower-cased, and non-ASCII
// bytes), every pair of adjacent words, and one bucket of the word count (log2): all the signal
// the router reads. No allocation: hashes are computed as the bytes go by.
template <typename Emit>
void for_each_feature(std::string_view text, Emit&& emit) {
  std::uint64_t prev = 0;
  bool have_prev = false;
  std::size_t words = 0;
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    if (!word_byte(static_cast<unsigned char>(text[i]))) {
      ++i;
      continue;
    }
    std::uint64_t h = kFnvOffset;
    while (i < n && word_byte(static_cast<unsigned char>(text[i]))) {
      unsigned char c = static_cast<unsigned char>(text[i++]);
      if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c - 'A' + 'a');
      h = (h ^ c) * kFnvPrime;
    }
    const std::uint64_t key = mix64(h);
    emit(key);
    if (have_prev) emit(mix64(prev * 0x9e3779b97f4a7c15ull + (key << 1 | key >> 63) + 1));
    prev = key;
    have_prev = true;
    ++words;
  }
  emit(mix64(0x6c656e677468ull + static_cast<std::uint64_t>(std::bit_width(words))));
}

double sigmoid(double z) {
  return z >= 0 ? 1 / (1 + std::exp(-z)) : std::exp(z) / (1 + std::exp(z));
}

// Each example's feature columns (sorted, distinct) and scale (1 / sqrt(count): unit length).
struct Rows {
  std::vector<std::vector<std::uint32_t>> cols;
  std::vector<float> scale;
};

// Platt scaling: a, b minimising the cross-entropy of sigmoid(a * z + b) against y (scores in
// [0, 1]), by Newton's method with a small ridge that keeps a flat or separable fold finite.
std::pair<double, double> fit_platt(const std::vector<double>& z, const std::vector<double>& y) {
  double a = 1, b = 0;
  const double ridge = 1e-3;
  auto loss = [&](double aa, double bb) {
    double l = ridge * ((aa - 1) * (aa - 1) + bb * bb) / 2;
    for (std::size_t i = 0; i < z.size(); ++i) {
      const double t = aa * z[i] + bb;
      // log(1 + e^t) - y t, stable
      l += (t > 0 ? t + std::log1p(std::exp(-t)) : std::log1p(std::exp(t))) - y[i] * t;
    }
    return l;
  };
  double current = loss(a, b);
  for (int it = 0; it < 100; ++it) {
    double ga = ridge * (a - 1), gb = ridge * b, haa = ridge, hab = 0, hbb = ridge;
    for (std::size_t i = 0; i < z.size(); ++i) {
      const double p = sigmoid(a * z[i] + b), r = p - y[i], w = p * (1 - p);
      ga += r * z[i];
      gb += r;
      haa += w * z[i] * z[i];
      hab += w * z[i];
      hbb += w;
    }
    const double det = haa * hbb - hab * hab;
    if (!(det > 0)) break;
    double da = (hbb * ga - hab * gb) / det, db = (haa * gb - hab * ga) / det;
    double step = 1;
    bool improved = false;
    for (int h = 0; h < 30; ++h) {
      const double next = loss(a - step * da, b - step * db);
      if (next <= current) {
        a -= step * da;
        b -= step * db;
        improved = current - next > 1e-12 * (1 + std::abs(current));
        current = next;
        break;
      }
      step /= 2;
    }
    if (!improved) break;
  }
  return {a, b};
}

double log_loss_of(double p, double y) {
  p = std::clamp(p, 1e-12, 1 - 1e-12);
  return -(y * std::log(p) + (1 - y) * std::log(1 - p));
}

}  // namespace

double roc_auc(const std::vector<double>& scores, const std::vector<bool>& labels) {
  if (scores.size() != labels.size()) throw std::invalid_argument("roc_auc: size mismatch");
  std::vector<std::size_t> order(scores.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return scores[a] < scores[b]; });
  double positives = 0, rank_sum = 0;
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) ++j;
    const double mid_rank = (static_cast<double>(i + j) + 1) / 2;  // 1-based average rank
    for (std::size_t k = i; k < j; ++k) {
      if (labels[order[k]]) {
        positives += 1;
        rank_sum += mid_rank;
      }
    }
    i = j;
  }
  const double negatives = static_cast<double>(scores.size()) - positives;
  if (positives == 0 || negatives == 0) return 0.5;
  return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives);
}

// --- the model -------------------------------------------------------------------------------

void RouterModel::build_index() {
  std::size_t size = 16;
  while (size < keys_.size() * 2) size *= 2;
  slots_.assign(size, 0);
  const std::size_t mask = size - 1;
  for (std::size_t c = 0; c < keys_.size(); ++c) {
    std::size_t s = keys_[c] & mask;
    while (slots_[s] != 0) s = (s + 1) & mask;
    slots_[s] = static_cast<std::uint32_t>(c + 1);
  }
}

void RouterModel::features_of(std::string_view text, std::vector<std::uint32_t>& cols) const {
  cols.clear();
  const std::size_t mask = slots_.size() - 1;
  for_each_feature(text, [&](std::uint64_t key) {
    for (std::size_t s = key & mask;; s = (s + 1) & mask) {
      const std::uint32_t c = slots_[s];
      if (c == 0) return;
      if (keys_[c - 1] == key) {
        cols.push_back(c - 1);
        return;
      }
    }
  });
  std::sort(cols.begin(), cols.end());
  cols.erase(std::unique(cols.begin(), cols.end()), cols.end());
}

std::vector<double> RouterModel::predict(std::string_view text) const {
  const std::size_t m = models_.size();
  thread_local std::vector<std::uint32_t> cols;
  thread_local std::vector<float> sum;
  features_of(text, cols);
  sum.assign(m, 0.0f);
  for (std::uint32_t c : cols) {
    const float* w = &weights_[static_cast<std::size_t>(c) * m];
    for (std::size_t k = 0; k < m; ++k) sum[k] += w[k];
  }
  // Unit length over the known features, as in training.
  const float scale = cols.empty() ? 0.0f : 1.0f / std::sqrt(static_cast<float>(cols.size()));
  std::vector<double> p(m);
  for (std::size_t k = 0; k < m; ++k) {
    const double z = bias_[k] + static_cast<double>(scale) * sum[k];
    p[k] = sigmoid(platt_a_[k] * z + platt_b_[k]);
  }
  return p;
}

std::size_t RouterModel::choose_model(const std::vector<double>& p, double cost_weight,
                                      const std::vector<double>& costs, RoutingRule rule) {
  if (p.empty() || costs.size() != p.size()) {
    throw std::invalid_argument("router: " + std::to_string(costs.size()) + " costs for " +
                                std::to_string(p.size()) + " models");
  }
  if (!(cost_weight >= 0 && cost_weight <= 1)) {
    throw std::invalid_argument("router: cost_weight must be in [0, 1]");
  }
  double max_cost = 0;
  for (double c : costs) max_cost = std::max(max_cost, c);
  const double norm = max_cost > 0 ? 1 / max_cost : 0;
  std::size_t best = 0;
  if (rule == RoutingRule::utility) {
    double best_value = -std::numeric_limits<double>::infinity();
    for (std::size_t m = 0; m < p.size(); ++m) {
      const double v = (1 - cost_weight) * p[m] - cost_weight * costs[m] * norm;
      if (v > best_value || (v == best_value && costs[m] < costs[best])) {
        best_value = v;
        best = m;
      }
    }
    return best;
  }
  const double top = *std::max_element(p.begin(), p.end());
  bool found = false;
  for (std::size_t m = 0; m < p.size(); ++m) {
    if (p[m] + 1e-12 < top - cost_weight) continue;
    if (!found || costs[m] < costs[best] || (costs[m] == costs[best] && p[m] > p[best])) {
      best = m;
      found = true;
    }
  }
  return best;
}

std::size_t RouterModel::choose(std::string_view text, double cost_weight,
                                const std::vector<double>& costs) const {
  return choose_model(predict(text), cost_weight, costs.empty() ? mean_costs_ : costs, rule_);
}

std::string RouterModel::encode_payload() const {
  const std::size_t m = models_.size();
  models::ByteWriter w;
  w.reserve(64 + keys_.size() * (8 + 4 * m));
  w.bytes(std::string_view(kMagic, sizeof kMagic));
  w.integer<std::uint32_t>(kLayoutVersion);
  w.integer<std::uint32_t>(static_cast<std::uint32_t>(m));
  w.integer<std::uint32_t>(static_cast<std::uint32_t>(rule_));
  w.integer<std::uint32_t>(0);
  w.integer<std::uint64_t>(keys_.size());
  for (std::size_t k = 0; k < m; ++k) {
    w.blob(models_[k]);
    w.integer<std::uint64_t>(std::bit_cast<std::uint64_t>(mean_costs_[k]));
    w.f32(bias_[k]);
    w.f32(platt_a_[k]);
    w.f32(platt_b_[k]);
  }
  for (std::uint64_t key : keys_) w.integer(key);
  for (float v : weights_) w.f32(v);
  return w.take();
}

RouterModel RouterModel::from_payload(std::string_view payload) {
  Reader r(payload, "router payload");
  if (r.take(sizeof kMagic, "magic") != std::string_view(kMagic, sizeof kMagic)) {
    r.fail(0, "not a router payload (bad magic)");
  }
  const std::size_t at_version = r.offset();
  if (const auto v = r.integer<std::uint32_t>("version"); v != kLayoutVersion) {
    r.fail(at_version, "layout version " + std::to_string(v) + " is not supported (expected " +
                           std::to_string(kLayoutVersion) + ")");
  }
  const std::size_t at_models = r.offset();
  const auto m = r.integer<std::uint32_t>("model count");
  if (m == 0 || m > kMaxModels) r.fail(at_models, "model count " + std::to_string(m));
  const std::size_t at_rule = r.offset();
  const auto rule = r.integer<std::uint32_t>("rule");
  if (rule > 1) r.fail(at_rule, "unknown routing rule " + std::to_string(rule));
  r.integer<std::uint32_t>("reserved");
  const std::size_t at_features = r.offset();
  const auto features = r.integer<std::uint64_t>("feature count");
  // Checked against the bytes left before anything is allocated.
  if (features > kMaxFeatures || features * (8 + 4ull * m) > r.remaining()) {
    r.fail(at_features, "feature count " + std::to_string(features) + " does not fit the payload");
  }
  RouterModel model;
  model.rule_ = static_cast<RoutingRule>(rule);
  for (std::uint32_t k = 0; k < m; ++k) {
    model.models_.emplace_back(r.blob("model name"));
    const std::size_t at_cost = r.offset();
    const double cost = std::bit_cast<double>(r.integer<std::uint64_t>("mean cost"));
    if (!std::isfinite(cost) || cost < 0) r.fail(at_cost, "mean cost is not a number >= 0");
    model.mean_costs_.push_back(cost);
    model.bias_.push_back(r.f32("bias"));
    model.platt_a_.push_back(r.f32("platt a"));
    model.platt_b_.push_back(r.f32("platt b"));
  }
  model.keys_.resize(features);
  for (std::uint64_t c = 0; c < features; ++c) {
    const std::size_t at = r.offset();
    model.keys_[c] = r.integer<std::uint64_t>("feature key");
    if (c > 0 && model.keys_[c] <= model.keys_[c - 1]) r.fail(at, "feature keys are not sorted");
  }
  model.weights_.resize(features * m);
  for (float& v : model.weights_) v = r.f32("weight");
  r.expect_end();
  model.build_index();
  return model;
}

void RouterModel::save(const std::string& path, models::ArtifactMeta meta) const {
  meta.kind = "router";
  meta.version = 1;
  models::write_artifact(path, {std::move(meta), encode_payload()});
}

RouterModel RouterModel::load(const std::string& path) {
  const models::Artifact artifact = models::read_artifact(path, "router", 1);
  try {
    return from_payload(artifact.payload);
  } catch (const RouterError& e) {
    throw RouterError(path + ": " + e.what());
  }
}

// --- training --------------------------------------------------------------------------------

struct RouterTrainer {
  const std::vector<RouterExample>& examples;
  const RouterOptions& options;
  std::size_t m = 0;
  Rows rows;
  std::vector<std::uint64_t> keys;  // the vocabulary, sorted

  void build_vocabulary() {
    std::vector<std::vector<std::uint64_t>> doc_keys(examples.size());
    std::vector<std::uint64_t> all;
    for (std::size_t i = 0; i < examples.size(); ++i) {
      auto& d = doc_keys[i];
      for_each_feature(examples[i].text, [&](std::uint64_t k) { d.push_back(k); });
      std::sort(d.begin(), d.end());
      d.erase(std::unique(d.begin(), d.end()), d.end());
      all.insert(all.end(), d.begin(), d.end());
    }
    std::sort(all.begin(), all.end());
    const auto max_docs =
        static_cast<std::size_t>(options.max_doc_share * static_cast<double>(examples.size()));
    for (std::size_t i = 0; i < all.size();) {
      std::size_t j = i;
      while (j < all.size() && all[j] == all[i]) ++j;
      if (j - i >= options.min_count && j - i <= max_docs) keys.push_back(all[i]);
      i = j;
    }
    rows.cols.resize(examples.size());
    rows.scale.resize(examples.size());
    for (std::size_t i = 0; i < examples.size(); ++i) {
      for (std::uint64_t k : doc_keys[i]) {
        const auto it = std::lower_bound(keys.begin(), keys.end(), k);
        if (it != keys.end() && *it == k) {
          rows.cols[i].push_back(static_cast<std::uint32_t>(it - keys.begin()));
        }
      }
      const auto nnz = rows.cols[i].size();
      rows.scale[i] = nnz == 0 ? 0.0f : 1.0f / std::sqrt(static_cast<float>(nnz));
    }
  }

  struct Weights {
    std::vector<float> w;     // features x models
    std::vector<float> bias;  // models
  };

  // AdaGrad on the mean log-loss with L2 on the weights of the features an example has (the
  // sparse form of weight decay: a feature is shrunk as often as it is seen).
  Weights train(const std::vector<std::size_t>& subset, double l2) const {
    Weights out;
    out.w.assign(keys.size() * m, 0.0f);
    out.bias.assign(m, 0.0f);
    std::vector<float> gw(keys.size() * m, 0.0f), gb(m, 0.0f);
    // The bias starts at the log-odds of the base rate, so early steps learn features, not it.
    for (std::size_t k = 0; k < m; ++k) {
      double pos = 1, tot = 2;
      for (std::size_t i : subset) {
        if (examples[i].correct[k]) {
          pos += *examples[i].correct[k];
          tot += 1;
        }
      }
      out.bias[k] = static_cast<float>(std::log(pos / (tot - pos)));
    }
    std::vector<std::size_t> order = subset;
    std::mt19937_64 rng(options.seed);
    const auto lr = static_cast<float>(options.learning_rate);
    const auto lambda = static_cast<float>(l2);
    std::vector<float> g(m);
    for (int epoch = 0; epoch < options.epochs; ++epoch) {
      std::shuffle(order.begin(), order.end(), rng);
      for (std::size_t i : order) {
        const auto& cols = rows.cols[i];
        const float s = rows.scale[i];
        for (std::size_t k = 0; k < m; ++k) g[k] = 0;
        for (std::uint32_t c : cols) {
          const float* w = &out.w[static_cast<std::size_t>(c) * m];
          for (std::size_t k = 0; k < m; ++k) g[k] += w[k];
        }
        for (std::size_t k = 0; k < m; ++k) {
          const auto& y = examples[i].correct[k];
          if (!y) {
            g[k] = 0;
            continue;
          }
          const double z = out.bias[k] + static_cast<double>(s) * g[k];
          g[k] = static_cast<float>(sigmoid(z) - *y);
          gb[k] += g[k] * g[k];
          out.bias[k] -= lr * g[k] / std::sqrt(gb[k] + 1e-8f);
        }
        for (std::uint32_t c : cols) {
          float* w = &out.w[static_cast<std::size_t>(c) * m];
          float* acc = &gw[static_cast<std::size_t>(c) * m];
          for (std::size_t k = 0; k < m; ++k) {
            if (!examples[i].correct[k]) continue;
            const float grad = g[k] * s + lambda * w[k];
            acc[k] += grad * grad;
            w[k] -= lr * grad / std::sqrt(acc[k] + 1e-8f);
          }
        }
      }
    }
    return out;
  }

  // Raw logits of example i under these weights.
  void logits(const Weights& wt, std::size_t i, std::vector<double>& z) const {
    z.assign(m, 0.0);
    for (std::uint32_t c : rows.cols[i]) {
      const float* w = &wt.w[static_cast<std::size_t>(c) * m];
      for (std::size_t k = 0; k < m; ++k) z[k] += w[k];
    }
    for (std::size_t k = 0; k < m; ++k) z[k] = wt.bias[k] + rows.scale[i] * z[k];
  }

  // Out-of-fold raw logits (examples x models) for this L2 strength.
  std::vector<double> out_of_fold(double l2) const {
    const std::size_t n = examples.size();
    std::vector<std::size_t> fold(n);
    std::vector<std::size_t> perm(n);
    std::iota(perm.begin(), perm.end(), std::size_t{0});
    std::mt19937_64 rng(options.seed ^ 0x5eedf01dull);
    std::shuffle(perm.begin(), perm.end(), rng);
    const auto folds = static_cast<std::size_t>(options.folds);
    for (std::size_t r = 0; r < n; ++r) fold[perm[r]] = r % folds;
    std::vector<double> oof(n * m);
    std::vector<double> z;
    for (std::size_t f = 0; f < folds; ++f) {
      std::vector<std::size_t> train_set;
      for (std::size_t i = 0; i < n; ++i) {
        if (fold[i] != f) train_set.push_back(i);
      }
      const Weights wt = train(train_set, l2);
      for (std::size_t i = 0; i < n; ++i) {
        if (fold[i] != f) continue;
        logits(wt, i, z);
        std::copy(z.begin(), z.end(), oof.begin() + static_cast<std::ptrdiff_t>(i * m));
      }
    }
    return oof;
  }

  // Per model Platt parameters fitted on the out-of-fold logits, and the mean calibrated log-loss.
  double calibrate(const std::vector<double>& oof, std::vector<std::pair<double, double>>& platt) {
    platt.assign(m, {1.0, 0.0});
    double total = 0;
    std::size_t count = 0;
    for (std::size_t k = 0; k < m; ++k) {
      std::vector<double> z, y;
      for (std::size_t i = 0; i < examples.size(); ++i) {
        if (!examples[i].correct[k]) continue;
        z.push_back(oof[i * m + k]);
        y.push_back(*examples[i].correct[k]);
      }
      platt[k] = fit_platt(z, y);
      for (std::size_t j = 0; j < z.size(); ++j) {
        total += log_loss_of(sigmoid(platt[k].first * z[j] + platt[k].second), y[j]);
        ++count;
      }
    }
    return count == 0 ? 0 : total / static_cast<double>(count);
  }
};

TrainedRouter train_router(const std::vector<RouterExample>& examples,
                           const RouterOptions& options) {
  const std::size_t m = options.models.size();
  if (m == 0) throw std::invalid_argument("train_router: no models");
  if (examples.size() < 2 * static_cast<std::size_t>(std::max(options.folds, 2))) {
    throw std::invalid_argument("train_router: " + std::to_string(examples.size()) +
                                " examples are too few for " + std::to_string(options.folds) +
                                " folds");
  }
  if (options.folds < 2 || options.epochs < 1 || !(options.learning_rate > 0) ||
      !(options.l2 >= 0) || !(options.max_doc_share > 0 && options.max_doc_share <= 1)) {
    throw std::invalid_argument(
        "train_router: folds >= 2, epochs >= 1, learning_rate > 0, "
        "l2 >= 0 and max_doc_share in (0, 1] are needed");
  }
  std::vector<double> cost_sum(m, 0), cost_n(m, 0), known(m, 0);
  for (std::size_t i = 0; i < examples.size(); ++i) {
    const auto& e = examples[i];
    if (e.correct.size() != m || (!e.cost.empty() && e.cost.size() != m)) {
      throw std::invalid_argument("train_router: example " + std::to_string(i) +
                                  " does not have one entry per model");
    }
    for (std::size_t k = 0; k < m; ++k) {
      if (e.correct[k]) {
        if (!(*e.correct[k] >= 0 && *e.correct[k] <= 1)) {
          throw std::invalid_argument("train_router: example " + std::to_string(i) +
                                      " has a score outside [0, 1]");
        }
        known[k] += 1;
      }
      if (!e.cost.empty() && e.cost[k] && std::isfinite(*e.cost[k]) && *e.cost[k] >= 0) {
        cost_sum[k] += *e.cost[k];
        cost_n[k] += 1;
      }
    }
  }
  for (std::size_t k = 0; k < m; ++k) {
    if (known[k] == 0) {
      throw std::invalid_argument("train_router: model \"" + options.models[k] +
                                  "\" has no recorded score");
    }
  }

  RouterTrainer t{examples, options, m, {}, {}};
  t.build_vocabulary();

  // The L2 strength: the given one, or the one whose out-of-fold predictions have the lowest
  // calibrated log-loss.
  double l2 = options.l2;
  std::vector<double> oof;
  std::vector<std::pair<double, double>> platt;
  if (l2 > 0) {
    oof = t.out_of_fold(l2);
    t.calibrate(oof, platt);
  } else {
    double best = std::numeric_limits<double>::infinity();
    for (double candidate : {1e-4, 1e-3, 1e-2, 3e-2}) {
      std::vector<double> o = t.out_of_fold(candidate);
      std::vector<std::pair<double, double>> pl;
      const double loss = t.calibrate(o, pl);
      if (loss < best) {
        best = loss;
        l2 = candidate;
        oof = std::move(o);
        platt = std::move(pl);
      }
    }
  }

  std::vector<std::size_t> all(examples.size());
  std::iota(all.begin(), all.end(), std::size_t{0});
  RouterTrainer::Weights final_weights = t.train(all, l2);

  TrainedRouter out;
  RouterModel& model = out.model;
  model.models_ = options.models;
  model.rule_ = options.rule;
  model.keys_ = std::move(t.keys);
  model.weights_ = std::move(final_weights.w);
  model.bias_ = std::move(final_weights.bias);
  for (std::size_t k = 0; k < m; ++k) {
    model.mean_costs_.push_back(cost_n[k] > 0 ? cost_sum[k] / cost_n[k] : 0.0);
    model.platt_a_.push_back(static_cast<float>(platt[k].first));
    model.platt_b_.push_back(static_cast<float>(platt[k].second));
  }
  model.build_index();

  RouterReport& report = out.report;
  report.examples = examples.size();
  report.features = model.keys_.size();
  report.l2 = l2;
  for (std::size_t k = 0; k < m; ++k) {
    ModelFigures f;
    f.name = options.models[k];
    f.mean_cost = model.mean_costs_[k];
    std::vector<double> p;
    std::vector<bool> label;
    double right = 0, loss = 0, positives = 0;
    for (std::size_t i = 0; i < examples.size(); ++i) {
      if (!examples[i].correct[k]) continue;
      const double y = *examples[i].correct[k];
      const double pk = sigmoid(platt[k].first * oof[i * m + k] + platt[k].second);
      p.push_back(pk);
      label.push_back(y >= 0.5);
      right += ((pk >= 0.5) == (y >= 0.5)) ? 1 : 0;
      loss += log_loss_of(pk, y);
      positives += y;
    }
    const auto n = static_cast<double>(p.size());
    f.examples = p.size();
    f.base_rate = positives / n;
    f.accuracy = right / n;
    f.auc = roc_auc(p, label);
    f.log_loss = loss / n;
    double base = 0;
    for (std::size_t i = 0; i < examples.size(); ++i) {
      if (examples[i].correct[k]) base += log_loss_of(f.base_rate, *examples[i].correct[k]);
    }
    f.base_log_loss = base / n;
    report.models.push_back(std::move(f));
  }
  return out;
}

}  // namespace tandem::routing
