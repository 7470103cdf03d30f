#pragma once
// Bookkeeping shared by every endpoint that calls a model: reading an upstream's JSON answer,
// charging its usage, the x-tandem-* response headers, and the per-model metrics.
#include <optional>
#include <string>
#include <variant>

#include "tandem/api/context.h"
#include "tandem/core/usage.h"
#include "tandem/http/message.h"
#include "tandem/ledger/charge.h"
#include "tandem/routing/failure.h"

namespace tandem::api {

constexpr std::size_t kMaxUpstreamBody = 64 << 20;

// Reads a non-streamed 2xx answer into `body` and its usage into `usage`. A body that is not a
// JSON object, or (for chat) whose every choice was stopped by a content filter, is a Failure
// so the chain moves on.
http::Task<std::optional<routing::Failure>> read_json_answer(http::UpstreamResponse& response,
                                                             http::Clock::time_point deadline,
                                                             bool chat, std::string& body,
                                                             core::Usage& usage);

// Counts an answer's tokens and cost on its route, or that the upstream reported no usage.
void record_route_usage(GatewayState& state, std::string_view model, const RouteState& route,
                        const core::Usage& usage, std::int64_t cost_pico_usd);

// Counts tokens, cost, fallbacks and latency for a call answered by `chain.route`.
void record_model_call(GatewayState& state, std::string_view model, const ChainResult& chain,
                       const ledger::Charge& charge, http::Clock::time_point started);

// x-tandem-cost-usd and the token counts, when the usage is known: headers of a plain answer,
// trailers of a stream.
http::Headers cost_headers(const ledger::Charge& charge);

// x-tandem-route, x-tandem-attempts (and the cost when known).
http::Headers route_headers(const ChainResult& chain, const ledger::Charge* charge);

http::Response error_response(const core::ApiError& error);

// True when a cancelled request still has a client to answer: it was cut by shutdown.
inline bool cut_by_shutdown(http::Responder& responder) {
  return responder.cancel_signal().cancelled() &&
         responder.cancel_signal().reason() == http::CancelSignal::Reason::shutdown;
}

// The model a request names, or the error to answer: 404 for an unknown model, 400 for a model of
// the other kind (chat vs embeddings).
std::variant<const ModelEntry*, core::ApiError> find_model_for(const GatewayState& state,
                                                               const std::string& name,
                                                               bool embeddings);

// The answer when no route answered: the upstream's own error for a request it rejected, else the
// chain's summary (429, 502, 504 ...). Counts the failure.
http::Response chain_failure_response(GatewayState& state, std::string_view model,
                                      const ChainResult& chain);

// Runs a non-streamed request down the model's chain and answers with the upstream's JSON body
// (chat: also checked for choices and content filtering), charged and counted.
http::Task<void> forward_json(WorkerContext& worker, std::string_view model,
                              const ModelEntry& entry, std::string_view path, bool chat,
                              const BodyFn& body_for, http::Responder& responder,
                              http::Clock::time_point started);

}  // namespace tandem::api
