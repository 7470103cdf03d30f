#include "tandem/routing/cascade_fit.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace tandem::routing {
namespace {

// Candidate thresholds per stage: at most this many quantiles of the stage's confidences (all
// distinct values when there are fewer, which makes the grid search exact), plus "always accept"
// and "never accept".
constexpr std::size_t kMaxCandidates = 64;
// Stages beyond which the exhaustive grid (candidates^(stages-1) settings) gives way to
// coordinate descent.
constexpr std::size_t kMaxGridStages = 3;
// Coordinate descent: the cost prices of the Lagrangian sweep (accuracy - price * cost / the
// dearest stage's mean cost) and the most rounds per price.
constexpr int kPrices = 25;
constexpr int kMaxRounds = 20;

constexpr double kNever = std::numeric_limits<double>::infinity();

void check_samples(const std::vector<CascadeSample>& samples) {
  if (samples.empty()) throw std::invalid_argument("cascade: no samples");
  const std::size_t stages = samples.front().size();
  if (stages == 0) throw std::invalid_argument("cascade: a sample has no stage");
  for (std::size_t i = 0; i < samples.size(); ++i) {
    if (samples[i].size() != stages) {
      throw std::invalid_argument("cascade: sample " + std::to_string(i) + " has " +
                                  std::to_string(samples[i].size()) + " stages, sample 0 has " +
                                  std::to_string(stages));
    }
    for (const StageOutcome& s : samples[i]) {
      if (!(s.confidence >= 0 && s.confidence <= 1) || !std::isfinite(s.cost) || s.cost < 0) {
        throw std::invalid_argument("cascade: sample " + std::to_string(i) +
                                    " has a confidence outside [0, 1] or a cost that is not a "
                                    "finite number >= 0");
      }
    }
  }
}

std::vector<double> candidates(const std::vector<CascadeSample>& samples, std::size_t stage) {
  std::vector<double> v;
  v.reserve(samples.size());
  for (const auto& s : samples) {
    if (s[stage].available) v.push_back(s[stage].confidence);
  }
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  std::vector<double> out;
  if (v.size() <= kMaxCandidates) {
    out = v;
  } else {
    for (std::size_t i = 0; i < kMaxCandidates; ++i) {
      out.push_back(v[i * (v.size() - 1) / (kMaxCandidates - 1)]);
    }
    out.erase(std::unique(out.begin(), out.end()), out.end());
  }
  if (out.empty() || out.front() > 0) out.insert(out.begin(), 0.0);  // accept every answer
  out.push_back(kNever);                                             // escalate every query
  return out;
}

// Better for the target: feasible beats infeasible; among feasible ones the target's objective;
// among infeasible ones the closer to the target.
bool better(const CascadeResult& a, const CascadeResult& b, const CascadeTarget& t) {
  const double eps = 1e-12;
  if (t.kind == CascadeTarget::Kind::max_accuracy_under_budget) {
    const bool fa = a.mean_cost <= t.value + eps, fb = b.mean_cost <= t.value + eps;
    if (fa != fb) return fa;
    if (fa) {
      if (std::abs(a.accuracy - b.accuracy) > eps) return a.accuracy > b.accuracy;
      return a.mean_cost < b.mean_cost;
    }
    if (std::abs(a.mean_cost - b.mean_cost) > eps) return a.mean_cost < b.mean_cost;
    return a.accuracy > b.accuracy;
  }
  const bool fa = a.accuracy + eps >= t.value, fb = b.accuracy + eps >= t.value;
  if (fa != fb) return fa;
  if (fa) {
    if (std::abs(a.mean_cost - b.mean_cost) > eps) return a.mean_cost < b.mean_cost;
    return a.accuracy > b.accuracy;
  }
  if (std::abs(a.accuracy - b.accuracy) > eps) return a.accuracy > b.accuracy;
  return a.mean_cost < b.mean_cost;
}

bool meets(const CascadeResult& r, const CascadeTarget& t) {
  return t.kind == CascadeTarget::Kind::max_accuracy_under_budget ? r.mean_cost <= t.value + 1e-12
                                                                  : r.accuracy + 1e-12 >= t.value;
}

// Keeps the Pareto-optimal results (cheaper or more accurate than every other), by cost.
std::vector<CascadeResult> pareto(std::vector<CascadeResult> all) {
  std::sort(all.begin(), all.end(), [](const CascadeResult& a, const CascadeResult& b) {
    return a.mean_cost != b.mean_cost ? a.mean_cost < b.mean_cost : a.accuracy > b.accuracy;
  });
  std::vector<CascadeResult> front;
  for (auto& r : all) {
    if (!front.empty() && r.accuracy <= front.back().accuracy + 1e-12) continue;
    front.push_back(std::move(r));
  }
  return front;
}

std::vector<CascadeResult> grid_search(const std::vector<CascadeSample>& samples) {
  const std::size_t k = samples.front().size() - 1;  // thresholds
  std::vector<std::vector<double>> cand(k);
  for (std::size_t s = 0; s < k; ++s) cand[s] = candidates(samples, s);
  std::vector<CascadeResult> all;
  std::vector<std::size_t> at(k, 0);
  std::vector<double> th(k);
  for (;;) {
    for (std::size_t s = 0; s < k; ++s) th[s] = cand[s][at[s]];
    all.push_back(simulate_cascade(samples, th));
    // Keep memory bounded: thin to the front now and then.
    if (all.size() >= 8192) all = pareto(std::move(all));
    std::size_t s = 0;
    while (s < k && ++at[s] == cand[s].size()) at[s++] = 0;
    if (s == k) break;
  }
  return pareto(std::move(all));
}

// Coordinate descent on accuracy - price * cost for a sweep of prices: each round moves one
// threshold at a time to its best candidate; every setting visited is kept for the front.
std::vector<CascadeResult> descent_search(const std::vector<CascadeSample>& samples) {
  const std::size_t k = samples.front().size() - 1;
  std::vector<std::vector<double>> cand(k);
  for (std::size_t s = 0; s < k; ++s) cand[s] = candidates(samples, s);
  // The scale of costs: the mean cost of running every stage.
  double scale = 0;
  for (const auto& q : samples) {
    for (const auto& s : q) scale += s.available ? s.cost : 0;
  }
  scale /= static_cast<double>(samples.size());
  if (!(scale > 0)) scale = 1;
  std::vector<CascadeResult> all;
  for (int p = 0; p < kPrices; ++p) {
    // Prices from 0 (accuracy only) up to 10 accuracy points per unit of full cost, geometric.
    const double price = p == 0 ? 0 : 1e-3 * std::pow(1e4, (p - 1) / double(kPrices - 2));
    // (1e-3 .. 10: from "cost barely matters" to "one full cost is worth ten accuracy points")
    auto value = [&](const CascadeResult& r) { return r.accuracy - price * r.mean_cost / scale; };
    // Two starts, as a move of one threshold alone can be stuck: accept every first answer, and
    // send every query to the last stage (from there, lowering thresholds finds the settings in
    // which several cheap stages must agree before the dear one is skipped).
    for (int start = 0; start < 2; ++start) {
      std::vector<std::size_t> at(k);
      std::vector<double> th(k);
      for (std::size_t s = 0; s < k; ++s) {
        at[s] = start == 0 ? 0 : cand[s].size() - 1;
        th[s] = cand[s][at[s]];
      }
      CascadeResult cur = simulate_cascade(samples, th);
      all.push_back(cur);
      for (int round = 0; round < kMaxRounds; ++round) {
        bool moved = false;
        for (std::size_t s = 0; s < k; ++s) {
          std::size_t best = at[s];
          for (std::size_t c = 0; c < cand[s].size(); ++c) {
            if (c == at[s]) continue;
            th[s] = cand[s][c];
            CascadeResult r = simulate_cascade(samples, th);
            if (value(r) > value(cur) + 1e-12) {
              cur = r;
              best = c;
              moved = true;
            }
            all.push_back(std::move(r));
          }
          at[s] = best;
          th[s] = cand[s][best];
        }
        if (all.size() >= 8192) all = pareto(std::move(all));
        if (!moved) break;
      }
    }
  }
  return pareto(std::move(all));
}

}  // namespace

double agreement_confidence(const std::vector<std::optional<std::size_t>>& labels,
                            const std::vector<double>& prior, std::size_t k) {
  if (labels.empty() || labels.size() != prior.size() || k < 2) {
    throw std::invalid_argument("agreement_confidence: one label and one prior per stage, k >= 2");
  }
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if ((labels[i] && *labels[i] >= k) || !(prior[i] >= 0 && prior[i] <= 1)) {
      throw std::invalid_argument("agreement_confidence: label or prior out of range");
    }
  }
  const auto& mine = labels.back();
  if (!mine) return 0;  // not a label: never the right one
  // P(truth = t | answers) is proportional to the product over stages of p_i when stage i said t
  // and (1 - p_i) / (k - 1) when it said something else. An answer outside the labels is wrong
  // whatever t is: its factor is the same for every t and cancels. Labels nobody said share one
  // value (every stage "wrong").
  const double other = 1.0 / static_cast<double>(k - 1);
  auto likelihood = [&](std::optional<std::size_t> t) {
    double l = 1;
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (!labels[i]) continue;
      const double p = std::clamp(prior[i], 1e-6, 1 - 1e-6);
      l *= (t && labels[i] == t) ? p : (1 - p) * other;
    }
    return l;
  };
  std::vector<std::size_t> said;
  for (const auto& l : labels) {
    if (l && std::find(said.begin(), said.end(), *l) == said.end()) said.push_back(*l);
  }
  double total = 0;
  for (std::size_t t : said) total += likelihood(t);
  total += static_cast<double>(k - said.size()) * likelihood(std::nullopt);
  return likelihood(mine) / total;
}

std::optional<std::size_t> answer_label(std::string_view answer,
                                        const std::vector<std::string>& labels) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!answer.empty() && space(answer.front())) answer.remove_prefix(1);
  while (!answer.empty() && space(answer.back())) answer.remove_suffix(1);
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const std::string& l = labels[i];
    if (l.empty() || !answer.starts_with(l)) continue;
    if (answer.size() > l.size()) {
      const auto c = static_cast<unsigned char>(answer[l.size()]);
      if (std::isalnum(c) || c >= 0x80) continue;
    }
    if (!best || l.size() > labels[*best].size()) best = i;  // the longest label that fits
  }
  return best;
}

CascadeResult simulate_cascade(const std::vector<CascadeSample>& samples,
                               const std::vector<double>& thresholds) {
  check_samples(samples);
  const std::size_t stages = samples.front().size();
  if (thresholds.size() + 1 != stages) {
    throw std::invalid_argument("cascade: " + std::to_string(thresholds.size()) +
                                " thresholds for " + std::to_string(stages) +
                                " stages (one per stage but the last is needed)");
  }
  CascadeResult r;
  r.thresholds = thresholds;
  r.stage_share.assign(stages, 0.0);
  double correct = 0, cost = 0;
  for (const CascadeSample& q : samples) {
    // The last available stage always answers; a stage with no answer is skipped and not paid.
    std::size_t last = stages;
    for (std::size_t s = stages; s-- > 0;) {
      if (q[s].available) {
        last = s;
        break;
      }
    }
    if (last == stages) continue;  // no stage can answer: wrong, free
    for (std::size_t s = 0; s <= last; ++s) {
      if (!q[s].available) continue;
      cost += q[s].cost;
      if (s == last || q[s].confidence >= thresholds[s]) {
        correct += q[s].correct ? 1 : 0;
        r.stage_share[s] += 1;
        break;
      }
    }
  }
  const auto n = static_cast<double>(samples.size());
  r.accuracy = correct / n;
  r.mean_cost = cost / n;
  for (double& s : r.stage_share) s /= n;
  return r;
}

std::vector<CascadeResult> cascade_frontier(const std::vector<CascadeSample>& samples) {
  check_samples(samples);
  const std::size_t stages = samples.front().size();
  if (stages == 1) return {simulate_cascade(samples, {})};
  return stages <= kMaxGridStages ? grid_search(samples) : descent_search(samples);
}

CascadeResult fit_cascade(const std::vector<CascadeSample>& samples, const CascadeTarget& target) {
  if (!std::isfinite(target.value)) throw std::invalid_argument("cascade: target is not finite");
  // The optimum of either target is Pareto-optimal, so it is on the front (exactly, when the
  // grid searched every distinct confidence).
  std::vector<CascadeResult> front = cascade_frontier(samples);
  CascadeResult best = front.front();
  for (const auto& r : front) {
    if (better(r, best, target)) best = r;
  }
  best.target_met = meets(best, target);
  return best;
}

}  // namespace tandem::routing
