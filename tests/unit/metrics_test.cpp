#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>
#include <thread>
#include <vector>

#include "tandem/metrics/registry.h"

using namespace tandem::metrics;

namespace {

// The value on the line of `out` that starts with `series` followed by a space.
std::string value_of(const std::string& out, const std::string& series) {
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.starts_with(series + " ")) return line.substr(series.size() + 1);
  }
  return "<missing " + series + ">";
}

}  // namespace

TEST(Metrics, CounterRendering) {
  Registry r;
  CounterFamily& requests =
      r.counter("tandem_http_requests_total", "HTTP requests by endpoint and status.",
                {"endpoint", "status"});
  requests.with({"/v1/chat/completions", "200"}).inc();
  requests.with({"/v1/chat/completions", "200"}).inc(4);
  requests.with({"/v1/embeddings", "400"}).inc();
  EXPECT_EQ(requests.with({"/v1/chat/completions", "200"}).value(), 5u);
  EXPECT_EQ(r.render(),
            "# HELP tandem_http_requests_total HTTP requests by endpoint and status.\n"
            "# TYPE tandem_http_requests_total counter\n"
            "tandem_http_requests_total{endpoint=\"/v1/chat/completions\",status=\"200\"} 5\n"
            "tandem_http_requests_total{endpoint=\"/v1/embeddings\",status=\"400\"} 1\n");
}

TEST(Metrics, FamilyWithoutSeriesStillHasHelpAndType) {
  Registry r;
  r.counter("tandem_fallbacks_total", "Fallbacks.", {"model"});
  EXPECT_EQ(r.render(),
            "# HELP tandem_fallbacks_total Fallbacks.\n# TYPE tandem_fallbacks_total counter\n");
}

TEST(Metrics, GaugeRendering) {
  Registry r;
  GaugeFamily& inflight = r.gauge("tandem_inflight_requests", "Requests in flight.", {});
  GaugeFamily& circuit =
      r.gauge("tandem_circuit_state", "0 closed, 1 open, 2 half-open.", {"route"});
  inflight.with({}).add(3);
  inflight.with({}).add(-1);
  circuit.with({"p:m"}).set(2);
  circuit.with({"q:m"}).set(-7);
  EXPECT_EQ(inflight.with({}).value(), 2);
  EXPECT_EQ(r.render(),
            "# HELP tandem_inflight_requests Requests in flight.\n"
            "# TYPE tandem_inflight_requests gauge\n"
            "tandem_inflight_requests 2\n"
            "# HELP tandem_circuit_state 0 closed, 1 open, 2 half-open.\n"
            "# TYPE tandem_circuit_state gauge\n"
            "tandem_circuit_state{route=\"p:m\"} 2\n"
            "tandem_circuit_state{route=\"q:m\"} -7\n");
}

TEST(Metrics, HistogramRendering) {
  Registry r;
  HistogramFamily& h =
      r.histogram("tandem_duration_seconds", "Latency.", {"model"}, {0.25, 0.5, 1});
  Histogram& m = h.with({"m"});
  for (double v : {0.125, 0.25, 0.375, 2.0}) m.observe(v);
  EXPECT_EQ(m.count(), 4u);
  EXPECT_DOUBLE_EQ(m.sum(), 2.75);
  EXPECT_EQ(m.cumulative(), (std::vector<std::uint64_t>{2, 3, 3, 4}));
  EXPECT_EQ(r.render(),
            "# HELP tandem_duration_seconds Latency.\n"
            "# TYPE tandem_duration_seconds histogram\n"
            "tandem_duration_seconds_bucket{model=\"m\",le=\"0.25\"} 2\n"
            "tandem_duration_seconds_bucket{model=\"m\",le=\"0.5\"} 3\n"
            "tandem_duration_seconds_bucket{model=\"m\",le=\"1\"} 3\n"
            "tandem_duration_seconds_bucket{model=\"m\",le=\"+Inf\"} 4\n"
            "tandem_duration_seconds_sum{model=\"m\"} 2.75\n"
            "tandem_duration_seconds_count{model=\"m\"} 4\n");
}

TEST(Metrics, HistogramWithoutLabels) {
  Registry r;
  HistogramFamily& h = r.histogram("d", "D.", {}, {1});
  h.with({}).observe(0.5);
  h.with({}).observe(-3);  // clamped to 0
  EXPECT_EQ(r.render(),
            "# HELP d D.\n# TYPE d histogram\n"
            "d_bucket{le=\"1\"} 2\n"
            "d_bucket{le=\"+Inf\"} 2\n"
            "d_sum 0.5\n"
            "d_count 2\n");
}

TEST(Metrics, HistogramBucketsAreCumulative) {
  Registry r;
  HistogramFamily& h = r.histogram("lat", "L.", {"route"}, latency_buckets());
  Histogram& s = h.with({"a"});
  for (int i = 0; i < 10; ++i) s.observe(0.00005);  // below the first bucket
  for (int i = 0; i < 5; ++i) s.observe(0.3);
  for (int i = 0; i < 2; ++i) s.observe(120);  // above the last bucket
  std::string out = r.render();
  EXPECT_EQ(value_of(out, "lat_bucket{route=\"a\",le=\"0.0001\"}"), "10");
  EXPECT_EQ(value_of(out, "lat_bucket{route=\"a\",le=\"0.25\"}"), "10");
  EXPECT_EQ(value_of(out, "lat_bucket{route=\"a\",le=\"0.5\"}"), "15");
  EXPECT_EQ(value_of(out, "lat_bucket{route=\"a\",le=\"60\"}"), "15");
  EXPECT_EQ(value_of(out, "lat_bucket{route=\"a\",le=\"+Inf\"}"), "17");
  EXPECT_EQ(value_of(out, "lat_count{route=\"a\"}"), "17");
  EXPECT_NEAR(std::strtod(value_of(out, "lat_sum{route=\"a\"}").c_str(), nullptr),
              10 * 0.00005 + 5 * 0.3 + 2 * 120, 1e-6);
  // Counts never decrease from one bucket to the next.
  auto counts = s.cumulative();
  ASSERT_EQ(counts.size(), latency_buckets().size() + 1);
  for (std::size_t i = 1; i < counts.size(); ++i) EXPECT_GE(counts[i], counts[i - 1]);
}

TEST(Metrics, LabelValuesAreEscaped) {
  Registry r;
  CounterFamily& c = r.counter("c_total", "C.", {"model"});
  c.with({"a\"b\\c\nd"}).inc();
  EXPECT_EQ(value_of(r.render(), "c_total{model=\"a\\\"b\\\\c\\nd\"}"), "1");
  Registry h;
  h.histogram("h", "H.", {"model"}, {1}).with({"x\"y"}).observe(0.5);
  std::string out = h.render();
  EXPECT_EQ(value_of(out, "h_bucket{model=\"x\\\"y\",le=\"1\"}"), "1");
  EXPECT_EQ(value_of(out, "h_sum{model=\"x\\\"y\"}"), "0.5");
}

TEST(Metrics, ScaledCounterRendersUsd) {
  Registry r;
  CounterFamily& cost = r.counter("tandem_cost_usd_total", "Cost in USD.", {"model"}, 1e12);
  cost.with({"big"}).inc(2'500'000'000'000ULL);  // 2.5 USD in pico-USD
  cost.with({"small"}).inc(1'500'000);           // 0.0000015 USD
  cost.with({"zero"});
  std::string out = r.render();
  EXPECT_NE(out.find("# TYPE tandem_cost_usd_total counter\n"), std::string::npos);
  EXPECT_EQ(value_of(out, "tandem_cost_usd_total{model=\"big\"}"), "2.5");
  EXPECT_EQ(value_of(out, "tandem_cost_usd_total{model=\"zero\"}"), "0");
  EXPECT_DOUBLE_EQ(
      std::strtod(value_of(out, "tandem_cost_usd_total{model=\"small\"}").c_str(), nullptr),
      1.5e-6);
  // The raw counter keeps the exact integer.
  EXPECT_EQ(cost.with({"small"}).value(), 1'500'000u);
}

TEST(Metrics, UnscaledCountersRenderAsExactIntegers) {
  Registry r;
  r.counter("tokens_total", "T.", {}).with({}).inc(123'456'789'012'345'678ULL);
  EXPECT_EQ(value_of(r.render(), "tokens_total"), "123456789012345678");
}

TEST(Metrics, FamiliesRenderCountersThenGaugesThenHistograms) {
  Registry r;
  r.histogram("z_hist", "H.", {}, {1});
  r.gauge("y_gauge", "G.", {});
  r.counter("x_counter", "C.", {});
  std::string out = r.render();
  auto c = out.find("# TYPE x_counter counter");
  auto g = out.find("# TYPE y_gauge gauge");
  auto h = out.find("# TYPE z_hist histogram");
  ASSERT_NE(c, std::string::npos);
  ASSERT_NE(g, std::string::npos);
  ASSERT_NE(h, std::string::npos);
  EXPECT_LT(c, g);
  EXPECT_LT(g, h);
}

TEST(Metrics, WithReturnsTheSameSeriesForTheSameLabels) {
  Registry r;
  CounterFamily& f = r.counter("f_total", "F.", {"a", "b"});
  Counter& one = f.with({"x", "y"});
  EXPECT_EQ(&one, &f.with({"x", "y"}));
  EXPECT_NE(&one, &f.with({"y", "x"}));
  EXPECT_EQ(f.series().size(), 2u);
}

TEST(Metrics, ConcurrentIncrementsSumExactly) {
  Registry r;
  CounterFamily& counter = r.counter("n_total", "N.", {"route"});
  GaugeFamily& gauge = r.gauge("g", "G.", {});
  HistogramFamily& hist = r.histogram("h", "H.", {"route"}, {0.5});
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::string own = "r" + std::to_string(t % 2);
      for (int i = 0; i < kPerThread; ++i) {
        counter.with({"shared"}).inc();
        counter.with({own}).inc(2);
        gauge.with({}).add(1);
        gauge.with({}).add(-1);
        gauge.with({}).add(1);
        hist.with({"shared"}).observe(i % 2 ? 0.25 : 1.0);
      }
    });
  }
  // Render concurrently with the updates: it must not crash or race.
  for (int i = 0; i < 20; ++i) (void)r.render();
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter.with({"shared"}).value(), std::uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(counter.with({"r0"}).value(), std::uint64_t{kThreads / 2} * kPerThread * 2);
  EXPECT_EQ(counter.with({"r1"}).value(), std::uint64_t{kThreads / 2} * kPerThread * 2);
  EXPECT_EQ(gauge.with({}).value(), kThreads * kPerThread);
  Histogram& h = hist.with({"shared"});
  EXPECT_EQ(h.count(), std::uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(h.cumulative(),
            (std::vector<std::uint64_t>{kThreads * kPerThread / 2, kThreads * kPerThread}));
  EXPECT_DOUBLE_EQ(h.sum(), kThreads * (kPerThread / 2) * 1.25);
  std::string out = r.render();
  EXPECT_EQ(value_of(out, "n_total{route=\"shared\"}"), std::to_string(kThreads * kPerThread));
  EXPECT_EQ(value_of(out, "h_count{route=\"shared\"}"), std::to_string(kThreads * kPerThread));
}
