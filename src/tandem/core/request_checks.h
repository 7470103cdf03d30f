#pragma once
// Field checks shared by the request parsers. Each returns an error naming the field, or nothing.
#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "tandem/core/api_error.h"
#include "tandem/core/json_util.h"

namespace tandem::core::checks {

inline core::ApiError wrong_type(const std::string& path, const char* expected,
                                 const boost::json::value& got) {
  return core::invalid_request(
      path + ": expected " + expected + ", got " + core::json_kind_name(got), path);
}

inline bool is_number(const boost::json::value& v) {
  return v.is_int64() || v.is_uint64() || v.is_double();
}

inline double as_double(const boost::json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  return v.get_double();
}

inline std::optional<core::ApiError> number_in(const boost::json::object& o, std::string_view key,
                                               double min, double max) {
  const auto* v = core::find_member(o, key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  std::string path(key);
  if (!is_number(*v)) return wrong_type(path, "a number", *v);
  double d = as_double(*v);
  if (d < min || d > max) {
    return core::invalid_request(
        path + ": must be between " + std::to_string(min) + " and " + std::to_string(max), path);
  }
  return std::nullopt;
}

inline std::optional<core::ApiError> integer_in(const boost::json::object& o, std::string_view key,
                                                std::int64_t min, std::int64_t max) {
  const auto* v = core::find_member(o, key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  std::string path(key);
  auto out_of_range = [&] {
    return core::invalid_request(
        path + ": must be between " + std::to_string(min) + " and " + std::to_string(max), path);
  };
  std::int64_t n = 0;
  if (v->is_int64()) {
    n = v->get_int64();
  } else if (v->is_uint64()) {
    // Only reached above INT64_MAX: out of every int64 range.
    return out_of_range();
  } else if (v->is_double()) {
    double d = v->get_double();
    if (!(d >= -0x1p63 && d < 0x1p63)) return out_of_range();  // also rejects NaN
    if (d != static_cast<double>(static_cast<std::int64_t>(d)))
      return wrong_type(path, "an integer", *v);
    n = static_cast<std::int64_t>(d);
  } else {
    return wrong_type(path, "an integer", *v);
  }
  if (n < min || n > max) return out_of_range();
  return std::nullopt;
}

inline std::optional<core::ApiError> optional_kind(const boost::json::object& o,
                                                   std::string_view key, boost::json::kind kind,
                                                   const char* expected) {
  const auto* v = core::find_member(o, key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (v->kind() != kind) return wrong_type(std::string(key), expected, *v);
  return std::nullopt;
}

// A request body as a JSON object with its required "model" string. The request lives for one
// call: an arena owned by the value holds all of its nodes.
inline std::variant<boost::json::object, core::ApiError> body_with_model(std::string_view text,
                                                                         int max_depth,
                                                                         std::string& model);

// The required, non-empty "model" string.
inline std::optional<core::ApiError> model_field(const boost::json::object& o, std::string& out) {
  const auto* v = core::find_member(o, "model");
  if (v == nullptr) return core::invalid_request("model: required field is missing", "model");
  if (!v->is_string()) return wrong_type("model", "a string", *v);
  if (v->get_string().empty()) return core::invalid_request("model: must not be empty", "model");
  out = v->get_string();
  return std::nullopt;
}

inline std::variant<boost::json::object, core::ApiError> body_with_model(std::string_view text,
                                                                         int max_depth,
                                                                         std::string& model) {
  auto parsed = core::parse_json(
      text, max_depth, boost::json::make_shared_resource<boost::json::monotonic_resource>());
  if (auto* err = std::get_if<core::JsonParseError>(&parsed)) {
    return core::invalid_request(err->message, "", "invalid_json");
  }
  auto& value = std::get<boost::json::value>(parsed);
  if (!value.is_object()) {
    return core::invalid_request(
        std::string("request body: expected a JSON object, got ") + core::json_kind_name(value), "",
        "invalid_json");
  }
  if (auto e = model_field(value.get_object(), model)) return *e;
  return std::move(value.get_object());
}

}  // namespace tandem::core::checks
