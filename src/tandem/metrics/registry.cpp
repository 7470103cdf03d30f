#include "tandem/metrics/registry.h"

#include <cmath>
#include <cstdio>
#include <mutex>

namespace tandem::metrics {

Histogram::Histogram(const std::vector<double>* bounds)
    : bounds_(bounds), buckets_(new std::atomic<std::uint64_t>[bounds->size() + 1]) {
  for (std::size_t i = 0; i <= bounds_->size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double seconds) {
  if (!(seconds >= 0)) seconds = 0;
  std::size_t i = 0;
  while (i < bounds_->size() && seconds > (*bounds_)[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_nanos_.fetch_add(static_cast<std::uint64_t>(seconds * 1e9), std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::cumulative() const {
  std::vector<std::uint64_t> out(bounds_->size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_->size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    out[i] = running;
  }
  return out;
}

double Histogram::sum() const {
  return static_cast<double>(sum_nanos_.load(std::memory_order_relaxed)) / 1e9;
}

template <typename Series>
Series& Family<Series>::with(std::initializer_list<std::string_view> values) {
  {
    std::shared_lock lock(mutex_);
    auto it = series_.find(values);
    if (it != series_.end()) return *it->second;
  }
  LabelValues key;
  key.reserve(values.size());
  for (auto v : values) key.emplace_back(v);
  std::unique_lock lock(mutex_);
  auto& slot = series_[key];
  if (!slot) {
    if constexpr (std::is_same_v<Series, Histogram>) {
      slot = std::make_unique<Histogram>(&bounds_);
    } else {
      slot = std::make_unique<Series>();
    }
  }
  return *slot;
}

template <typename Series>
std::vector<std::pair<LabelValues, const Series*>> Family<Series>::series() const {
  std::shared_lock lock(mutex_);
  std::vector<std::pair<LabelValues, const Series*>> out;
  out.reserve(series_.size());
  for (const auto& [labels, s] : series_) out.emplace_back(labels, s.get());
  return out;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

CounterFamily& Registry::counter(std::string name, std::string help,
                                 std::vector<std::string> labels, double scale) {
  counters_.emplace_back(
      std::make_unique<CounterFamily>(std::move(name), std::move(help), std::move(labels)), scale);
  return *counters_.back().first;
}

GaugeFamily& Registry::gauge(std::string name, std::string help, std::vector<std::string> labels) {
  gauges_.push_back(
      std::make_unique<GaugeFamily>(std::move(name), std::move(help), std::move(labels)));
  return *gauges_.back();
}

HistogramFamily& Registry::histogram(std::string name, std::string help,
                                     std::vector<std::string> labels, std::vector<double> bounds) {
  histograms_.push_back(std::make_unique<HistogramFamily>(std::move(name), std::move(help),
                                                          std::move(labels), std::move(bounds)));
  return *histograms_.back();
}

namespace {

void escape_label(std::string& out, std::string_view value) {
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
}

void labels_text(std::string& out, const std::vector<std::string>& names, const LabelValues& values,
                 std::string_view extra_name = {}, std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return;
  out += '{';
  bool first = true;
  for (std::size_t i = 0; i < names.size() && i < values.size(); ++i) {
    if (!first) out += ',';
    first = false;
    out += names[i];
    out += "=\"";
    escape_label(out, values[i]);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!first) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

void header(std::string& out, const std::string& name, const std::string& help, const char* type) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace

std::string Registry::render() const {
  std::string out;
  for (const auto& [family, scale] : counters_) {
    header(out, family->name(), family->help(), "counter");
    for (const auto& [labels, c] : family->series()) {
      out += family->name();
      labels_text(out, family->label_names(), labels);
      out += ' ';
      if (scale == 1.0) {
        out += std::to_string(c->value());
      } else {
        out += number(static_cast<double>(c->value()) / scale);
      }
      out += '\n';
    }
  }
  for (const auto& family : gauges_) {
    header(out, family->name(), family->help(), "gauge");
    for (const auto& [labels, g] : family->series()) {
      out += family->name();
      labels_text(out, family->label_names(), labels);
      out += ' ' + std::to_string(g->value()) + '\n';
    }
  }
  for (const auto& family : histograms_) {
    header(out, family->name(), family->help(), "histogram");
    const auto& bounds = family->bounds();
    for (const auto& [labels, h] : family->series()) {
      auto counts = h->cumulative();
      for (std::size_t i = 0; i <= bounds.size(); ++i) {
        out += family->name() + "_bucket";
        labels_text(out, family->label_names(), labels, "le",
                    i < bounds.size() ? number(bounds[i]) : "+Inf");
        out += ' ' + std::to_string(counts[i]) + '\n';
      }
      out += family->name() + "_sum";
      labels_text(out, family->label_names(), labels);
      out += ' ' + number(h->sum()) + '\n';
      out += family->name() + "_count";
      labels_text(out, family->label_names(), labels);
      out += ' ' + std::to_string(h->count()) + '\n';
    }
  }
  return out;
}

std::vector<double> latency_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30,    60};
}

std::vector<double> task_buckets() {
  return {0.000001, 0.0000025, 0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001,
          0.0025,   0.005,     0.01,     0.025,   0.05,     0.1,     0.25,   0.5,     1};
}

}  // namespace tandem::metrics
