#include "tandem/core/api_error.h"

#include <boost/json.hpp>

namespace tandem::core {

namespace {
ApiError make(int status, const char* type, std::string code, std::string message,
              std::string param = {}) {
  return ApiError{status, type, std::move(code), std::move(message), std::move(param)};
}
}  // namespace

ApiError invalid_request(std::string message, std::string param, std::string code) {
  return make(400, "invalid_request_error", std::move(code), std::move(message), std::move(param));
}
ApiError unauthorized(std::string message) {
  return make(401, "authentication_error", "invalid_api_key", std::move(message));
}
ApiError not_found(std::string message, std::string code) {
  return make(404, "invalid_request_error", std::move(code), std::move(message));
}
ApiError too_large(std::string message) {
  return make(413, "invalid_request_error", "request_too_large", std::move(message));
}
ApiError rate_limited(std::string message) {
  return make(429, "rate_limit_error", "rate_limit_exceeded", std::move(message));
}
ApiError bad_gateway(std::string message) {
  return make(502, "upstream_error", "all_routes_failed", std::move(message));
}
ApiError gateway_timeout(std::string message) {
  return make(504, "upstream_error", "upstream_timeout", std::move(message));
}
ApiError internal_error(std::string message) {
  return make(500, "server_error", "internal_error", std::move(message));
}

ApiError shutting_down() {
  return make(503, "server_error", "shutting_down",
              "the server is shutting down and stopped this request; retry it");
}

std::string to_json(const ApiError& error) {
  boost::json::object inner;
  inner["message"] = error.message;
  inner["type"] = error.type;
  inner["param"] =
      error.param.empty() ? boost::json::value(nullptr) : boost::json::value(error.param);
  inner["code"] = error.code.empty() ? boost::json::value(nullptr) : boost::json::value(error.code);
  boost::json::object outer;
  outer["error"] = std::move(inner);
  return boost::json::serialize(outer);
}

}  // namespace tandem::core
