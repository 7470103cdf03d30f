#pragma once
// An error as the client sees it: an HTTP status plus OpenAI's error body
// {"error":{"message","type","param","code"}}. Every stage reports failures with this type, so the
// edge (api) is the only place that turns them into bytes.
#include <string>

namespace tandem::core {

struct ApiError {
  int status = 500;
  std::string type;     // OpenAI's error type, e.g. "invalid_request_error"
  std::string code;     // machine-readable code, e.g. "model_not_found"; empty means null
  std::string message;  // human-readable; never contains secrets
  std::string param;    // offending field path, e.g. "messages[1].role"; empty means null
};

ApiError invalid_request(std::string message, std::string param = {},
                         std::string code = "invalid_request");
ApiError unauthorized(std::string message);
ApiError not_found(std::string message, std::string code);
ApiError too_large(std::string message);
ApiError rate_limited(std::string message);
ApiError bad_gateway(std::string message);
ApiError gateway_timeout(std::string message);
ApiError internal_error(std::string message);
ApiError shutting_down();

// Serialises to OpenAI's error JSON shape.
std::string to_json(const ApiError& error);

}  // namespace tandem::core
