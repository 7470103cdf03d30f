#pragma once
// Runs a model's fallback chain: each route in order, each with retries and backoff for
// retryable failures, guarded by its circuit breaker, until one answers. Commitment to a route
// happens in the caller's `accept` step (for streams: once the first event arrived), so nothing
// has reached the client while the chain can still move on.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tandem/config/config.h"
#include "tandem/core/api_error.h"
#include "tandem/http/client.h"
#include "tandem/metrics/gateway_metrics.h"
#include "tandem/providers/local_provider.h"
#include "tandem/providers/openai_provider.h"
#include "tandem/providers/replay_provider.h"
#include "tandem/routing/circuit_breaker.h"
#include "tandem/routing/failure.h"
#include "tandem/routing/retry_policy.h"

namespace tandem::api {

namespace asio = boost::asio;

// The metric series of one model's route, resolved once so the hot path does no lookups.
struct RouteSeries {
  RouteSeries(metrics::GatewayMetrics& m, std::string_view model, std::string_view route);
  metrics::Counter& attempts_ok;
  metrics::Histogram& upstream_duration;
  metrics::Histogram& model_duration;
  metrics::Counter& prompt_tokens;
  metrics::Counter& completion_tokens;
  metrics::Counter& cost;
  metrics::Gauge& circuit;
};

// One route of one model, shared by all threads. Its provider is an HTTP one, a local one or a
// replay one.
struct RouteState {
  RouteState(const config::RouteConfig& route, const config::ProviderConfig& provider_config,
             const providers::OpenAiProvider* http, providers::LocalProvider* local,
             const providers::ReplayProvider* replay, metrics::GatewayMetrics& metrics,
             std::string_view model);
  config::RouteConfig route;
  const config::ProviderConfig* provider_config;
  const providers::OpenAiProvider* http_provider;    // kind "openai", else null
  providers::LocalProvider* local_provider;          // kind "local", else null
  const providers::ReplayProvider* replay_provider;  // kind "replay", else null
  routing::CircuitBreaker breaker;
  routing::RetryPolicy retry;
  RouteSeries series;

  // Sets the circuit gauge from the breaker's state: 0 closed, 1 open, 2 half-open.
  void publish_circuit();
};

struct RouteFailureSummary {
  std::string label;
  routing::FailureKind kind;
  std::string detail;
  int attempts = 0;
};

struct ChainResult {
  const RouteState* route = nullptr;  // the route that answered; null when none did
  std::size_t route_index = 0;
  std::unique_ptr<http::UpstreamResponse> response;
  int attempts = 0;
  std::vector<RouteFailureSummary> failures;
  std::optional<routing::Failure> client_error;  // the upstream rejected the request itself
  bool cancelled = false;
  // Every attempt in order, as (route label, outcome).
  std::vector<std::pair<std::string, std::string>> attempt_log;

  // The error for the client when no route answered (all failed, or a client error).
  core::ApiError error(std::string_view model) const;
  // Every attempt in order, repeats folded: "primary:gpt-4o=server_error x3;backup:gpt-4o-mini=ok",
  // for the x-tandem-attempts header.
  std::string attempts_header() const;
};

// Reads what the caller needs from a 2xx response head; a Failure moves on to the next route.
using AcceptFn = std::function<http::Task<std::optional<routing::Failure>>(
    const RouteState& route, http::UpstreamResponse& response, http::Clock::time_point deadline)>;
using BodyFn = std::function<std::string(const RouteState& route)>;

// The chain's view of a transport failure.
routing::Failure failure_from(const http::ClientError& error);

class RouteRunner {
 public:
  RouteRunner(asio::io_context& ioc, http::HttpClient& client, metrics::GatewayMetrics& metrics);

  http::Task<ChainResult> run(std::string_view model, const std::vector<RouteState*>& routes,
                              std::string_view path, const BodyFn& body_for, const AcceptFn& accept,
                              http::CancelSignal* cancel);

 private:
  asio::io_context& ioc_;
  http::HttpClient& client_;
  metrics::GatewayMetrics& metrics_;
};

}  // namespace tandem::api
