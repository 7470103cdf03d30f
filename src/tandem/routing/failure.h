#pragma once
// Why one attempt at one route failed, and what the fallback chain should do about it.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace tandem::routing {

enum class FailureKind {
  connect,           // could not connect or resolve
  timeout,           // no answer (or no next streamed event) in time
  reset,             // connection dropped mid-exchange
  tls,               // TLS handshake or certificate failure
  protocol,          // not HTTP or not the JSON we expect
  rate_limited,      // 429
  server_error,      // 5xx
  context_length,    // the upstream says the prompt does not fit its context window
  content_refused,   // the upstream refused the content (content filter)
  upstream_auth,     // 401/403: this provider's key is wrong; another route may work
  upstream_missing,  // 404: this provider does not serve the model
  client_error,      // 400/422 about the request itself: no other route would do better
  circuit_open,      // the route's circuit breaker is open
  cancelled,         // the client went away
};

const char* to_string(FailureKind kind);

struct Failure {
  FailureKind kind = FailureKind::server_error;
  int http_status = 0;  // upstream status, 0 when none
  std::string detail;   // short human-readable reason
  std::optional<std::chrono::milliseconds> retry_after;
  std::string upstream_body;  // for client_error: the upstream's error body, relayed as-is
};

// Worth another attempt on the same route (after a backoff)?
bool is_retryable(FailureKind kind);
// Worth trying the next route of the chain?
bool falls_back(FailureKind kind);
// Says something about the route's health, so counts towards opening its circuit breaker? Not a
// refusal of the request itself, its context length or content, a missing model, a client gone.
bool counts_against_health(FailureKind kind);

// Classifies a non-2xx upstream answer from its status, body and Retry-After header.
Failure classify_http_failure(int status, std::string_view body, std::string_view retry_after);

// Retry-After as delta-seconds (HTTP-dates are rare from API providers and are ignored).
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value);

}  // namespace tandem::routing
