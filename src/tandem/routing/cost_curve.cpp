#include "tandem/routing/cost_curve.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

namespace tandem::routing {
namespace {

// Slack for comparing sums of scores: an accuracy that equals a target up to rounding reaches it.
constexpr double kEps = 1e-12;

struct XY {
  double x = 0, y = 0;
};

// The upper concave hull of the points, from the cheapest to the most accurate: the
// (cost, accuracy) pairs that random mixtures of the points reach at best. Accuracy never falls
// along it (a dearer point that is less accurate is never worth mixing in).
std::vector<XY> upper_hull(std::vector<XY> p) {
  std::sort(p.begin(), p.end(),
            [](const XY& a, const XY& b) { return a.x != b.x ? a.x < b.x : a.y > b.y; });
  std::vector<XY> h;
  for (const XY& q : p) {
    if (!h.empty() && q.x == h.back().x) continue;  // same cost, lower accuracy
    while (h.size() >= 2) {
      const XY& a = h[h.size() - 2];
      const XY& b = h.back();
      // Drop b when it lies on or below the segment a-q.
      if ((b.x - a.x) * (q.y - a.y) - (b.y - a.y) * (q.x - a.x) >= 0) {
        h.pop_back();
      } else {
        break;
      }
    }
    h.push_back(q);
  }
  // Keep the rising part only: after the most accurate point, more cost buys nothing.
  const auto best =
      std::max_element(h.begin(), h.end(), [](const XY& a, const XY& b) { return a.y < b.y; });
  h.erase(best + 1, h.end());
  return h;
}

double hull_at(const std::vector<XY>& h, double x) {
  if (x <= h.front().x) return h.front().y;
  if (x >= h.back().x) return h.back().y;
  for (std::size_t i = 1; i < h.size(); ++i) {
    if (x <= h[i].x) {
      const double t = (x - h[i - 1].x) / (h[i].x - h[i - 1].x);
      return h[i - 1].y + t * (h[i].y - h[i - 1].y);
    }
  }
  return h.back().y;
}

std::vector<XY> to_xy(const std::vector<CurvePoint>& points) {
  std::vector<XY> p;
  p.reserve(points.size());
  for (const auto& c : points) p.push_back({c.mean_cost, c.accuracy});
  return p;
}

}  // namespace

void check_table(const OutcomeTable& t) {
  if (t.models == 0) throw std::invalid_argument("outcomes: no model");
  if (t.score.empty()) throw std::invalid_argument("outcomes: no query");
  if (t.score.size() % t.models != 0 || t.cost.size() != t.score.size()) {
    throw std::invalid_argument("outcomes: " + std::to_string(t.score.size()) + " scores and " +
                                std::to_string(t.cost.size()) + " costs for " +
                                std::to_string(t.models) + " models");
  }
  for (std::size_t i = 0; i < t.score.size(); ++i) {
    if (!(t.score[i] >= 0 && t.score[i] <= 1)) {
      throw std::invalid_argument("outcomes: score of query " + std::to_string(i / t.models) +
                                  ", model " + std::to_string(i % t.models) + " is not in [0, 1]");
    }
    if (!(t.cost[i] >= 0) || !std::isfinite(t.cost[i])) {
      throw std::invalid_argument("outcomes: cost of query " + std::to_string(i / t.models) +
                                  ", model " + std::to_string(i % t.models) +
                                  " is not a finite number >= 0");
    }
  }
}

CurvePoint evaluate_choices(const OutcomeTable& t, const std::vector<std::size_t>& choices,
                            double knob) {
  check_table(t);
  const std::size_t n = t.queries();
  if (choices.size() != n) {
    throw std::invalid_argument("evaluate_choices: " + std::to_string(choices.size()) +
                                " choices for " + std::to_string(n) + " queries");
  }
  CurvePoint p;
  p.knob = knob;
  p.share.assign(t.models, 0.0);
  double score = 0, cost = 0;
  for (std::size_t q = 0; q < n; ++q) {
    const std::size_t m = choices[q];
    if (m >= t.models) throw std::invalid_argument("evaluate_choices: model index out of range");
    score += t.score_at(q, m);
    cost += t.cost_at(q, m);
    p.share[m] += 1;
  }
  const auto dn = static_cast<double>(n);
  p.accuracy = score / dn;
  p.mean_cost = cost / dn;
  for (double& s : p.share) s /= dn;
  return p;
}

CurvePoint single_model(const OutcomeTable& t, std::size_t m) {
  return evaluate_choices(t, std::vector<std::size_t>(t.queries(), m));
}

CurvePoint oracle(const OutcomeTable& t) {
  check_table(t);
  std::vector<std::size_t> choices(t.queries());
  for (std::size_t q = 0; q < choices.size(); ++q) {
    std::size_t best = 0;
    for (std::size_t m = 1; m < t.models; ++m) {
      const double s = t.score_at(q, m), bs = t.score_at(q, best);
      if (s > bs || (s == bs && t.cost_at(q, m) < t.cost_at(q, best))) best = m;
    }
    choices[q] = best;
  }
  return evaluate_choices(t, choices);
}

std::optional<double> random_router_accuracy(const std::vector<CurvePoint>& singles, double cost) {
  if (singles.empty()) return std::nullopt;
  const std::vector<XY> h = upper_hull(to_xy(singles));
  if (cost < h.front().x * (1 - kEps) - kEps) return std::nullopt;
  return hull_at(h, cost);
}

std::vector<CurvePoint> pareto_front(std::vector<CurvePoint> points) {
  std::sort(points.begin(), points.end(), [](const CurvePoint& a, const CurvePoint& b) {
    return a.mean_cost != b.mean_cost ? a.mean_cost < b.mean_cost : a.accuracy > b.accuracy;
  });
  std::vector<CurvePoint> front;
  for (auto& p : points) {
    if (!front.empty() && p.accuracy <= front.back().accuracy) continue;
    front.push_back(std::move(p));
  }
  return front;
}

double area_under_curve(const std::vector<CurvePoint>& points, double lo, double hi) {
  if (points.empty()) throw std::invalid_argument("area_under_curve: no point");
  if (!(hi > lo)) throw std::invalid_argument("area_under_curve: empty cost range");
  const std::vector<XY> h = upper_hull(to_xy(points));
  // Integrate the piecewise-linear hull (flat outside it) between its breakpoints within [lo, hi].
  std::vector<double> xs{lo, hi};
  for (const XY& v : h) {
    if (v.x > lo && v.x < hi) xs.push_back(v.x);
  }
  std::sort(xs.begin(), xs.end());
  double area = 0;
  for (std::size_t i = 1; i < xs.size(); ++i) {
    area += (xs[i] - xs[i - 1]) * (hull_at(h, xs[i - 1]) + hull_at(h, xs[i])) / 2;
  }
  return area / (hi - lo);
}

std::optional<CurvePoint> cheapest_reaching(const std::vector<CurvePoint>& points,
                                            double accuracy) {
  const CurvePoint* best = nullptr;
  for (const auto& p : points) {
    if (p.accuracy + kEps < accuracy) continue;
    if (!best || p.mean_cost < best->mean_cost) best = &p;
  }
  if (!best) return std::nullopt;
  return *best;
}

std::optional<double> call_performance_threshold(const OutcomeTable& t, std::size_t weak,
                                                 std::size_t strong,
                                                 const std::vector<double>& strong_score,
                                                 double x) {
  check_table(t);
  const std::size_t n = t.queries();
  if (weak >= t.models || strong >= t.models || weak == strong) {
    throw std::invalid_argument("call_performance_threshold: weak and strong must be two models");
  }
  if (strong_score.size() != n) {
    throw std::invalid_argument("call_performance_threshold: one score per query is needed");
  }
  if (!(x >= 0 && x <= 1))
    throw std::invalid_argument("call_performance_threshold: x not in [0, 1]");
  double weak_total = 0, strong_total = 0;
  for (std::size_t q = 0; q < n; ++q) {
    weak_total += t.score_at(q, weak);
    strong_total += t.score_at(q, strong);
  }
  if (!(strong_total > weak_total)) return std::nullopt;
  const double target = weak_total + x * (strong_total - weak_total);
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return strong_score[a] > strong_score[b]; });
  double total = weak_total;
  if (total + kEps >= target) return 0.0;
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t q = order[k];
    total += t.score_at(q, strong) - t.score_at(q, weak);
    if (total + kEps * static_cast<double>(n) >= target) {
      return static_cast<double>(k + 1) / static_cast<double>(n);
    }
  }
  return 1.0;
}

std::optional<double> call_performance_threshold(const std::vector<CurvePoint>& points,
                                                 double weak_accuracy, double strong_accuracy,
                                                 std::size_t strong, double x) {
  if (!(strong_accuracy > weak_accuracy)) return std::nullopt;
  const double target = weak_accuracy + x * (strong_accuracy - weak_accuracy);
  std::optional<double> best;
  for (const auto& p : points) {
    if (strong >= p.share.size() || p.accuracy + kEps < target) continue;
    if (!best || p.share[strong] < *best) best = p.share[strong];
  }
  return best;
}

}  // namespace tandem::routing
