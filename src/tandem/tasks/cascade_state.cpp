#include "tandem/tasks/cascade_state.h"

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace tandem::tasks {

namespace json = boost::json;

namespace {

json::object read_json_object(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read '" + path + "'");
  std::stringstream buffer;
  buffer << in.rdbuf();
  boost::system::error_code ec;
  json::value v = json::parse(buffer.str(), ec);
  if (ec || !v.is_object()) throw std::runtime_error("'" + path + "' is not a JSON object");
  return std::move(v.get_object());
}

double number_in(const json::object& o, std::string_view key, const std::string& path) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_number()) {
    throw std::runtime_error("'" + path + "': \"" + std::string(key) + "\" must be a number");
  }
  double d = v->to_number<double>();
  if (!(d >= 0 && d <= 1)) {
    throw std::runtime_error("'" + path + "': \"" + std::string(key) + "\" must be in [0, 1]");
  }
  return d;
}

// Written to a temporary file and renamed, so a reader never sees half a file.
void write_atomically(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("cannot write '" + tmp + "'");
    out << text << '\n';
    if (!out.flush()) throw std::runtime_error("cannot write '" + tmp + "'");
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace

CascadeThresholds read_cascade_thresholds(const std::string& path) {
  json::object o = read_json_object(path);
  CascadeThresholds t;
  const json::value* variants = o.if_contains("variants");
  const json::value* thresholds = o.if_contains("thresholds");
  if (variants == nullptr || !variants->is_array() || thresholds == nullptr ||
      !thresholds->is_array()) {
    throw std::runtime_error("'" + path + "' needs \"variants\" and \"thresholds\" arrays");
  }
  for (const auto& v : variants->get_array()) {
    if (!v.is_string()) throw std::runtime_error("'" + path + "': variants must be strings");
    t.variants.emplace_back(v.get_string());
  }
  for (const auto& v : thresholds->get_array()) {
    if (!v.is_number() || !(v.to_number<double>() >= 0 && v.to_number<double>() <= 1)) {
      throw std::runtime_error("'" + path + "': thresholds must be numbers in [0, 1]");
    }
    t.thresholds.push_back(v.to_number<double>());
  }
  if (t.variants.size() < 2 || t.thresholds.size() + 1 != t.variants.size()) {
    throw std::runtime_error(
        "'" + path + "': a cascade of " + std::to_string(t.variants.size()) + " stages needs " +
        std::to_string(t.variants.empty() ? 0 : t.variants.size() - 1) + " thresholds");
  }
  return t;
}

void write_cascade_thresholds(const std::string& path, const CascadeThresholds& t,
                              const std::string& details_json) {
  json::object o;
  json::array variants, thresholds;
  for (const auto& v : t.variants) variants.push_back(json::string(v));
  for (double d : t.thresholds) thresholds.push_back(d);
  o["variants"] = std::move(variants);
  o["thresholds"] = std::move(thresholds);
  if (!details_json.empty()) o["fit"] = json::parse(details_json);
  write_atomically(path, json::serialize(o));
}

std::string distill_state_path(const std::string& artifact_path) {
  return artifact_path + ".json";
}

std::optional<DistillState> read_distill_state(const std::string& artifact_path) {
  std::string path = distill_state_path(artifact_path);
  if (!std::filesystem::exists(path)) return std::nullopt;
  json::object o = read_json_object(path);
  DistillState s;
  if (const json::value* v = o.if_contains("teacher"); v && v->is_string()) {
    s.teacher = std::string(v->get_string());
  }
  s.threshold = number_in(o, "threshold", path);
  s.agreement = number_in(o, "agreement", path);
  s.coverage = number_in(o, "coverage", path);
  if (const json::value* v = o.if_contains("records"); v && v->is_int64()) {
    s.records = static_cast<std::size_t>(std::max<std::int64_t>(0, v->get_int64()));
  }
  if (const json::value* v = o.if_contains("held_out"); v && v->is_int64()) {
    s.held_out = static_cast<std::size_t>(std::max<std::int64_t>(0, v->get_int64()));
  }
  if (const json::value* v = o.if_contains("accepted"); v && v->is_bool())
    s.accepted = v->get_bool();
  if (const json::value* v = o.if_contains("created"); v && v->is_string()) {
    s.created_utc = std::string(v->get_string());
  }
  return s;
}

void write_distill_state(const std::string& artifact_path, const DistillState& s) {
  json::object o{{"teacher", s.teacher},   {"threshold", s.threshold}, {"agreement", s.agreement},
                 {"coverage", s.coverage}, {"records", s.records},     {"held_out", s.held_out},
                 {"accepted", s.accepted}, {"created", s.created_utc}};
  write_atomically(distill_state_path(artifact_path), json::serialize(o));
}

}  // namespace tandem::tasks
