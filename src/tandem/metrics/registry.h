#pragma once
// A small Prometheus registry: counters, gauges and histograms with labels, lock-free to update
// (atomics) and rendered in the Prometheus text exposition format.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::metrics {

class Counter {
 public:
  void inc(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void add(std::int64_t n) { value_.fetch_add(n, std::memory_order_relaxed); }
  void set(std::int64_t n) { value_.store(n, std::memory_order_relaxed); }
  std::int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

class Histogram {
 public:
  explicit Histogram(const std::vector<double>* bounds);
  void observe(double seconds);
  // Cumulative counts per bound, then the +Inf count.
  std::vector<std::uint64_t> cumulative() const;
  double sum() const;
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  const std::vector<double>* bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_nanos_{0};
};

using LabelValues = std::vector<std::string>;

// Orders label-value lists, and compares them with a list of string_views without building a
// vector: lookups on the hot path allocate nothing.
struct LabelLess {
  using is_transparent = void;
  using Views = std::initializer_list<std::string_view>;
  bool operator()(const LabelValues& a, const LabelValues& b) const { return a < b; }
  bool operator()(const LabelValues& a, Views b) const {
    return std::lexicographical_compare(
        a.begin(), a.end(), b.begin(), b.end(),
        [](std::string_view x, std::string_view y) { return x < y; });
  }
  bool operator()(Views a, const LabelValues& b) const {
    return std::lexicographical_compare(
        a.begin(), a.end(), b.begin(), b.end(),
        [](std::string_view x, std::string_view y) { return x < y; });
  }
};

// One metric name with a fixed list of label names; a series per distinct label values.
template <typename Series>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::vector<double> bounds = {})
      : name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)),
        bounds_(std::move(bounds)) {}

  Series& with(std::initializer_list<std::string_view> values);
  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  const std::vector<double>& bounds() const { return bounds_; }
  // Snapshot of all series for rendering.
  std::vector<std::pair<LabelValues, const Series*>> series() const;

 private:
  std::string name_, help_;
  std::vector<std::string> label_names_;
  std::vector<double> bounds_;
  mutable std::shared_mutex mutex_;
  std::map<LabelValues, std::unique_ptr<Series>, LabelLess> series_;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

class Registry {
 public:
  // `scale` divides counter values when rendered: a counter of pico-USD renders as USD with 1e12.
  CounterFamily& counter(std::string name, std::string help, std::vector<std::string> labels,
                         double scale = 1.0);
  GaugeFamily& gauge(std::string name, std::string help, std::vector<std::string> labels);
  HistogramFamily& histogram(std::string name, std::string help, std::vector<std::string> labels,
                             std::vector<double> bounds);
  std::string render() const;

 private:
  std::vector<std::pair<std::unique_ptr<CounterFamily>, double>> counters_;
  std::vector<std::unique_ptr<GaugeFamily>> gauges_;
  std::vector<std::unique_ptr<HistogramFamily>> histograms_;
};

// Latency buckets from 100 microseconds to 60 seconds.
std::vector<double> latency_buckets();
// Buckets from 1 microsecond to 1 second, for tailored models that answer in microseconds.
std::vector<double> task_buckets();

}  // namespace tandem::metrics
