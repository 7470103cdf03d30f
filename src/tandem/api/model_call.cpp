#include "tandem/api/model_call.h"

#include <boost/json.hpp>

#include "tandem/core/json_util.h"
#include "tandem/log/logger.h"
#include "tandem/providers/openai_answer.h"

namespace tandem::api {

using routing::Failure;
using routing::FailureKind;

namespace {

// Checks a 2xx JSON answer and takes its usage.
std::optional<Failure> inspect_answer(std::string_view body, int status, bool chat,
                                      core::Usage& usage) {
  auto scan = providers::scan_answer(body);
  if (!scan) {
    return Failure{FailureKind::protocol,
                   status,
                   "upstream answered 2xx with a body that is not a JSON object",
                   {},
                   {}};
  }
  if (chat) {
    if (!scan->has_choices) {
      return Failure{FailureKind::protocol, status, "upstream answer has no choices array", {}, {}};
    }
    if (scan->choices > 0 && scan->filtered_choices == scan->choices) {
      return Failure{FailureKind::content_refused,
                     status,
                     "upstream stopped every choice with its content filter",
                     {},
                     {}};
    }
  }
  usage = scan->usage;
  return std::nullopt;
}

}  // namespace

http::Task<std::optional<Failure>> read_json_answer(http::UpstreamResponse& response,
                                                    http::Clock::time_point deadline, bool chat,
                                                    std::string& body, core::Usage& usage) {
  body.clear();
  if (auto err = co_await response.read_all(body, kMaxUpstreamBody, deadline)) {
    co_return failure_from(err);
  }
  co_return inspect_answer(body, response.status(), chat, usage);
}

void record_route_usage(GatewayState& state, std::string_view model, const RouteState& route,
                        const core::Usage& usage, std::int64_t cost_pico_usd) {
  const RouteSeries& series = route.series;
  if (usage.known) {
    series.prompt_tokens.inc(static_cast<std::uint64_t>(usage.prompt_tokens));
    series.completion_tokens.inc(static_cast<std::uint64_t>(usage.completion_tokens));
    series.cost.inc(static_cast<std::uint64_t>(cost_pico_usd));
  } else {
    state.metrics.usage_missing.with({model, route.route.label}).inc();
    log::warn("usage_missing", {{"model", model}, {"route", route.route.label}});
  }
}

void record_model_call(GatewayState& state, std::string_view model, const ChainResult& chain,
                       const ledger::Charge& charge, http::Clock::time_point started) {
  chain.route->series.model_duration.observe(
      std::chrono::duration<double>(http::Clock::now() - started).count());
  if (chain.route_index > 0) state.metrics.fallbacks.with({model}).inc();
  record_route_usage(state, model, *chain.route, charge.usage, charge.cost_pico_usd);
}

http::Headers cost_headers(const ledger::Charge& charge) {
  if (!charge.usage.known) return {};
  return {{"x-tandem-cost-usd", core::format_usd(charge.cost_pico_usd)},
          {"x-tandem-prompt-tokens", std::to_string(charge.usage.prompt_tokens)},
          {"x-tandem-completion-tokens", std::to_string(charge.usage.completion_tokens)}};
}

http::Headers route_headers(const ChainResult& chain, const ledger::Charge* charge) {
  http::Headers h;
  h.push_back({"x-tandem-route", chain.route->route.label});
  if (chain.attempts > 1 || chain.route_index > 0) {
    h.push_back({"x-tandem-attempts", chain.attempts_header()});
  }
  if (charge != nullptr) {
    for (auto& header : cost_headers(*charge)) h.push_back(std::move(header));
  }
  return h;
}

http::Response error_response(const core::ApiError& error) {
  http::Response r;
  r.status = error.status;
  r.body = core::to_json(error);
  if (error.status == 429) r.headers.push_back({"Retry-After", "1"});
  return r;
}

std::variant<const ModelEntry*, core::ApiError> find_model_for(const GatewayState& state,
                                                               const std::string& name,
                                                               bool embeddings) {
  const ModelEntry* model = state.find_model(name);
  if (model == nullptr) {
    return core::not_found(
        "The model '" + name + "' does not exist; GET /v1/models lists the models",
        "model_not_found");
  }
  if (model->config->embeddings && !embeddings) {
    return core::invalid_request("model '" + name + "' serves embeddings; use POST /v1/embeddings",
                                 "model");
  }
  if (!model->config->embeddings && embeddings) {
    return core::invalid_request("model '" + name +
                                     "' is a chat model; declare an embeddings model with type = "
                                     "\"embeddings\"",
                                 "model");
  }
  return model;
}

http::Response chain_failure_response(GatewayState& state, std::string_view model,
                                      const ChainResult& chain) {
  if (!chain.client_error) state.metrics.route_failures.with({model}).inc();
  http::Response r = error_response(chain.error(model));
  if (chain.client_error && !chain.client_error->upstream_body.empty()) {
    // The upstream's own words on what is wrong with the request, in OpenAI's shape already.
    r.body = chain.client_error->upstream_body;
  }
  if (!chain.failures.empty()) r.headers.push_back({"x-tandem-attempts", chain.attempts_header()});
  return r;
}

http::Task<void> forward_json(WorkerContext& worker, std::string_view model,
                              const ModelEntry& entry, std::string_view path, bool chat,
                              const BodyFn& body_for, http::Responder& responder,
                              http::Clock::time_point started) {
  std::string body;
  core::Usage usage;
  AcceptFn accept = [&](const RouteState&, http::UpstreamResponse& response,
                        http::Clock::time_point deadline) {
    return read_json_answer(response, deadline, chat, body, usage);
  };
  ChainResult chain = co_await worker.runner.run(model, entry.routes, path, body_for, accept,
                                                 &responder.cancel_signal());
  if (chain.cancelled) {  // the client is gone, or shutdown cut the request
    if (cut_by_shutdown(responder)) co_await responder.send(error_response(core::shutting_down()));
    co_return;
  }
  if (chain.route == nullptr) {
    co_await responder.send(chain_failure_response(worker.state, model, chain));
    co_return;
  }
  ledger::Charge charge = ledger::charge(usage, chain.route->route.price);
  record_model_call(worker.state, model, chain, charge, started);
  http::Response r;
  r.headers = route_headers(chain, &charge);
  r.body = std::move(body);
  co_await responder.send(std::move(r));
}

}  // namespace tandem::api
