#include "tandem/api/route_runner.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <random>

#include "tandem/log/logger.h"

namespace tandem::api {

using routing::Failure;
using routing::FailureKind;

RouteSeries::RouteSeries(metrics::GatewayMetrics& m, std::string_view model, std::string_view route)
    : attempts_ok(m.upstream_attempts.with({model, route, "ok"})),
      upstream_duration(m.upstream_duration.with({model, route})),
      model_duration(m.model_duration.with({model, route})),
      prompt_tokens(m.tokens.with({model, route, "prompt"})),
      completion_tokens(m.tokens.with({model, route, "completion"})),
      cost(m.cost.with({model, route})),
      circuit(m.circuit_state.with({model, route})) {}

RouteState::RouteState(const config::RouteConfig& r, const config::ProviderConfig& p,
                       const providers::OpenAiProvider* http, providers::LocalProvider* local,
                       const providers::ReplayProvider* replay, metrics::GatewayMetrics& metrics,
                       std::string_view model)
    : route(r),
      provider_config(&p),
      http_provider(http),
      local_provider(local),
      replay_provider(replay),
      breaker(p.breaker_failure_threshold, p.breaker_cooldown),
      retry{p.max_retries, p.retry_base_delay, p.retry_max_delay},
      series(metrics, model, r.label) {}

void RouteState::publish_circuit() {
  switch (breaker.state(http::Clock::now())) {
    case routing::CircuitBreaker::State::closed:
      series.circuit.set(0);
      return;
    case routing::CircuitBreaker::State::open:
      series.circuit.set(1);
      return;
    case routing::CircuitBreaker::State::half_open:
      series.circuit.set(2);
      return;
  }
}

namespace {

constexpr std::size_t kMaxErrorBody = 1 << 20;

double unit_random() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

}  // namespace

Failure failure_from(const http::ClientError& e) {
  Failure f;
  switch (e.kind) {
    case http::ClientErrorKind::connect:
      f.kind = FailureKind::connect;
      break;
    case http::ClientErrorKind::timeout:
      f.kind = FailureKind::timeout;
      break;
    case http::ClientErrorKind::tls:
      f.kind = FailureKind::tls;
      break;
    case http::ClientErrorKind::protocol:
    case http::ClientErrorKind::too_large:
      f.kind = FailureKind::protocol;
      break;
    case http::ClientErrorKind::cancelled:
      f.kind = FailureKind::cancelled;
      break;
    default:
      f.kind = FailureKind::reset;
      break;
  }
  f.detail = e.message;
  return f;
}

RouteRunner::RouteRunner(asio::io_context& ioc, http::HttpClient& client,
                         metrics::GatewayMetrics& metrics)
    : ioc_(ioc), client_(client), metrics_(metrics) {}

http::Task<ChainResult> RouteRunner::run(std::string_view model,
                                         const std::vector<RouteState*>& routes,
                                         std::string_view path, const BodyFn& body_for,
                                         const AcceptFn& accept, http::CancelSignal* cancel) {
  ChainResult result;
  for (std::size_t index = 0; index < routes.size(); ++index) {
    RouteState& state = *routes[index];
    const auto& pconf = *state.provider_config;
    const std::string& label = state.route.label;
    http::OutgoingRequest request;
    std::string local_body;
    if (state.local_provider != nullptr || state.replay_provider != nullptr) {
      local_body = body_for(state);
    } else {
      request = state.http_provider->build_request(path, body_for(state));
    }
    for (int retry = 0;; ++retry) {
      auto now = http::Clock::now();
      auto admission = state.breaker.admit(now);
      if (admission == routing::CircuitBreaker::Admission::denied) {
        metrics_.upstream_attempts.with({model, label, "circuit_open"}).inc();
        result.attempt_log.emplace_back(label, "circuit_open");
        result.failures.push_back(
            {label, FailureKind::circuit_open, "circuit breaker open", retry});
        break;
      }
      ++result.attempts;
      auto deadline = now + pconf.request_timeout;
      http::HttpClient::Result sent;
      if (state.local_provider != nullptr) {
        auto local =
            co_await state.local_provider->send(path, local_body, state.route, deadline, cancel);
        sent.response = std::move(local.response);
        sent.error = std::move(local.error);
      } else if (state.replay_provider != nullptr) {
        sent.response = state.replay_provider->answer(path, local_body, state.route);
      } else {
        sent = co_await client_.send(state.http_provider->endpoint(), request,
                                     pconf.connect_timeout, deadline, cancel);
      }
      state.series.upstream_duration.observe(
          std::chrono::duration<double>(http::Clock::now() - now).count());
      std::optional<Failure> failure;
      if (sent.error) {
        failure = failure_from(sent.error);
      } else if (int status = sent.response->status(); status >= 200 && status < 300) {
        failure = co_await accept(state, *sent.response, deadline);
      } else {
        std::string body;
        co_await sent.response->read_all(body, kMaxErrorBody, deadline);
        failure = routing::classify_http_failure(
            status, body, http::find_header(sent.response->headers(), "retry-after"));
      }
      // A complete answer counts (and is charged) even when the client left meanwhile.
      if (failure && http::is_cancelled(cancel)) {
        if (admission == routing::CircuitBreaker::Admission::probe) state.breaker.abandon_probe();
        metrics_.upstream_attempts.with({model, label, "cancelled"}).inc();
        result.cancelled = true;
        co_return result;
      }
      if (!failure) {
        state.breaker.record_success(admission);
        state.series.attempts_ok.inc();
        result.attempt_log.emplace_back(label, "ok");
        state.publish_circuit();
        result.route = &state;
        result.route_index = index;
        result.response = std::move(sent.response);
        co_return result;
      }
      metrics_.upstream_attempts.with({model, label, routing::to_string(failure->kind)}).inc();
      result.attempt_log.emplace_back(label, routing::to_string(failure->kind));
      state.breaker.record_failure(http::Clock::now(), admission, failure->kind);
      state.publish_circuit();
      log::warn("upstream_attempt_failed", {{"model", model},
                                            {"route", label},
                                            {"attempt", retry + 1},
                                            {"failure", routing::to_string(failure->kind)},
                                            {"detail", failure->detail}});
      if (failure->kind == FailureKind::client_error) {
        result.client_error = std::move(failure);
        co_return result;
      }
      std::optional<std::chrono::milliseconds> delay;
      if (routing::is_retryable(failure->kind)) {
        delay = routing::next_retry_delay(state.retry, retry, failure->retry_after, unit_random());
      }
      if (!delay) {
        result.failures.push_back({label, failure->kind, failure->detail, retry + 1});
        break;
      }
      http::Timer timer(ioc_, *delay);
      http::CancelHook hook(cancel, [&timer] { timer.cancel(); });
      co_await timer.async_wait(http::use_task);
      if (http::is_cancelled(cancel)) {
        result.cancelled = true;
        co_return result;
      }
    }
  }
  co_return result;
}

core::ApiError ChainResult::error(std::string_view model) const {
  if (client_error) {
    core::ApiError e =
        core::invalid_request("upstream rejected the request: " + client_error->detail);
    e.status = client_error->http_status == 422 ? 422 : 400;
    return e;
  }
  std::string list;
  bool all_rate_limited = true, all_timeouts = true, all_context = true, all_refused = true;
  bool any_rate_limited = false, any_timeout = false;
  for (const auto& f : failures) {
    if (!list.empty()) list += "; ";
    list += f.label + ": " + routing::to_string(f.kind);
    if (f.attempts > 1) list += " after " + std::to_string(f.attempts) + " attempts";
    if (!f.detail.empty() && f.kind != FailureKind::circuit_open) list += " (" + f.detail + ")";
    bool neutral = f.kind == FailureKind::circuit_open;
    all_rate_limited = all_rate_limited && (neutral || f.kind == FailureKind::rate_limited);
    all_timeouts = all_timeouts && (neutral || f.kind == FailureKind::timeout);
    all_context = all_context && f.kind == FailureKind::context_length;
    all_refused = all_refused && f.kind == FailureKind::content_refused;
    any_rate_limited = any_rate_limited || f.kind == FailureKind::rate_limited;
    any_timeout = any_timeout || f.kind == FailureKind::timeout;
  }
  std::string message = "all " + std::to_string(failures.size()) + " route(s) of model '" +
                        std::string(model) + "' failed: " + list;
  if (!failures.empty() && all_context) {
    return core::invalid_request(
        "the prompt does not fit the context window of any route of model '" + std::string(model) +
            "': " + list,
        "messages", "context_length_exceeded");
  }
  if (!failures.empty() && all_refused) {
    return core::invalid_request("every route refused the content: " + list, "", "content_filter");
  }
  if (all_rate_limited && any_rate_limited) return core::rate_limited(message);
  if (all_timeouts && any_timeout) return core::gateway_timeout(message);
  return core::bad_gateway(message);
}

std::string ChainResult::attempts_header() const {
  std::string out;
  for (std::size_t i = 0; i < attempt_log.size();) {
    std::size_t j = i;
    while (j < attempt_log.size() && attempt_log[j] == attempt_log[i]) ++j;
    if (!out.empty()) out += ';';
    out += attempt_log[i].first + "=" + attempt_log[i].second;
    if (j - i > 1) out += " x" + std::to_string(j - i);
    i = j;
  }
  return out;
}

}  // namespace tandem::api
