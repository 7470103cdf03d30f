#include "tandem/metrics/gateway_metrics.h"

namespace tandem::metrics {

GatewayMetrics::GatewayMetrics(Registry& r)
    : http_requests(r.counter("tandem_http_requests_total", "HTTP requests by endpoint and status",
                              {"endpoint", "status"})),
      http_duration(r.histogram("tandem_http_request_duration_seconds",
                                "HTTP request latency by endpoint", {"endpoint"},
                                latency_buckets())),
      model_duration(r.histogram("tandem_model_request_duration_seconds",
                                 "Latency of model requests by model and the route that answered",
                                 {"model", "route"}, latency_buckets())),
      upstream_attempts(r.counter("tandem_upstream_attempts_total",
                                  "Upstream attempts by model, route and outcome",
                                  {"model", "route", "outcome"})),
      upstream_duration(r.histogram("tandem_upstream_duration_seconds",
                                    "Upstream time to response head, per attempt",
                                    {"model", "route"}, latency_buckets())),
      tokens(r.counter("tandem_tokens_total", "Tokens by model, route and type (prompt|completion)",
                       {"model", "route", "type"})),
      cost(r.counter("tandem_cost_usd_total", "Cost in USD by model and route", {"model", "route"},
                     1e12)),
      fallbacks(r.counter("tandem_fallbacks_total",
                          "Requests answered by a route other than the model's first", {"model"})),
      route_failures(r.counter("tandem_all_routes_failed_total",
                               "Requests for which every route failed", {"model"})),
      stream_errors(r.counter("tandem_stream_errors_total",
                              "Streams that ended with an error event after bytes were sent",
                              {"model", "route"})),
      usage_missing(r.counter("tandem_usage_missing_total",
                              "Upstream answers that reported no usage", {"model", "route"})),
      circuit_state(r.gauge("tandem_circuit_state",
                            "Circuit breaker state per route: 0 closed, 1 open, 2 half-open",
                            {"route"})),
      inflight(r.gauge("tandem_inflight_requests", "Requests being processed", {})),
      local_active(r.gauge("tandem_local_active_sequences", "Sequences a local model is decoding",
                           {"model"})),
      local_queued(r.gauge("tandem_local_queued_requests",
                           "Requests waiting for a free sequence of a local model", {"model"})),
      local_tokens(r.counter("tandem_local_tokens_total",
                             "Tokens of local models: prompt tokens decoded, prompt tokens reused "
                             "from the KV cache, tokens generated",
                             {"model", "kind"})),
      local_decodes(r.counter("tandem_local_decode_calls_total",
                              "Batches decoded by local models (llama_decode calls)", {"model"})) {}

}  // namespace tandem::metrics
