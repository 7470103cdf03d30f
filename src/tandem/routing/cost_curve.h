#pragma once
// Cost-quality metrics of routing over recorded outcomes: what each model scored on each query and
// what it cost. Single models, the oracle, the random router at equal cost, a router's curve as
// its knob moves, the area under a curve, and RouteLLM's CPT(x%). Pure computation, no I/O.
//
// Scores are in [0, 1] (1 = correct); a query where a model has no recorded answer is given
// score 0 at that model's mean cost by the caller (see RecordedOutcomes in the CLI), so every
// table is complete.
#include <cstddef>
#include <optional>
#include <vector>

namespace tandem::routing {

// Queries x models, row-major.
struct OutcomeTable {
  std::size_t models = 0;
  std::vector<double> score;  // in [0, 1]
  std::vector<double> cost;   // >= 0, any unit (USD in the CLI)

  std::size_t queries() const { return models == 0 ? 0 : score.size() / models; }
  double score_at(std::size_t q, std::size_t m) const { return score[q * models + m]; }
  double cost_at(std::size_t q, std::size_t m) const { return cost[q * models + m]; }
};

// Throws std::invalid_argument unless the table has models, queries, matching sizes, scores in
// [0, 1] and finite costs >= 0.
void check_table(const OutcomeTable& table);

struct CurvePoint {
  double knob = 0;            // the router's setting that gave this point (0 for fixed policies)
  double accuracy = 0;        // mean score
  double mean_cost = 0;       // per query
  std::vector<double> share;  // share of queries sent to each model
};

// What routing every query to the chosen model (one index per query) scores and costs.
CurvePoint evaluate_choices(const OutcomeTable& table, const std::vector<std::size_t>& choices,
                            double knob = 0);

// Every query to model m.
CurvePoint single_model(const OutcomeTable& table, std::size_t m);

// The oracle: per query, the model with the best score, the cheapest among equals (so for 0/1
// scores, the cheapest correct model, or the cheapest model when none is correct).
CurvePoint oracle(const OutcomeTable& table);

// The random router at mean cost `cost`: the best random mixture of single models (each query
// sent to model m with probability w_m, whatever the query) whose expected cost is at most
// `cost`, with its expected accuracy; that is the upper concave hull of the single models'
// (cost, accuracy) points read at `cost` (RouterBench's "zero router"). Costs beyond the best
// model's get its accuracy; nullopt below the cheapest model's cost (no mixture is that cheap).
std::optional<double> random_router_accuracy(const std::vector<CurvePoint>& singles, double cost);

// The points no other point beats on both cost and accuracy, by increasing cost.
std::vector<CurvePoint> pareto_front(std::vector<CurvePoint> points);

// The area under the upper concave hull of `points` (mixing router settings at random reaches
// any point of it) over costs [lo, hi], divided by hi - lo: a mean accuracy over that cost range
// (RouterBench's AIQ). The hull is flat beyond its end points. Throws std::invalid_argument when
// points is empty or hi <= lo.
double area_under_curve(const std::vector<CurvePoint>& points, double lo, double hi);

// The cheapest point whose accuracy is at least `accuracy` (nullopt if none is).
std::optional<CurvePoint> cheapest_reaching(const std::vector<CurvePoint>& points, double accuracy);

// Two models, weak and strong. RouteLLM's "call-performance threshold": the smallest share of
// queries sent to the strong model at which a router recovers `x` (in [0, 1]) of the accuracy gap
// between always-weak and always-strong. The router here is a ranking: the queries with the
// highest `strong_score` go to the strong model first (every threshold on the score, i.e. the
// continuous sweep of the knob, ties broken by query order). A random router needs exactly x.
// nullopt when the gap is not positive (the strong model is not better).
std::optional<double> call_performance_threshold(const OutcomeTable& table, std::size_t weak,
                                                 std::size_t strong,
                                                 const std::vector<double>& strong_score, double x);

// The same from points of a knob sweep: the smallest share of `strong` among the points that
// recover x of the gap (nullopt when no point does or there is no gap).
std::optional<double> call_performance_threshold(const std::vector<CurvePoint>& points,
                                                 double weak_accuracy, double strong_accuracy,
                                                 std::size_t strong, double x);

}  // namespace tandem::routing
