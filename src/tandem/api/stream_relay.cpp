// Streamed chat completions. The chain commits to a route only when its first SSE event has
// arrived, so an upstream that fails before that is retried or replaced invisibly. After that,
// events are relayed as they come; usage is taken from the upstream's final usage chunk (always
// requested upstream), and any failure ends the stream with an error event, never with a
// silently truncated success.
#include <boost/json.hpp>

#include "tandem/api/endpoints.h"
#include "tandem/api/model_call.h"
#include "tandem/core/json_util.h"
#include "tandem/http/sse_parser.h"
#include "tandem/log/logger.h"
#include "tandem/providers/openai_answer.h"

namespace tandem::api {

using routing::Failure;
using routing::FailureKind;

namespace {

constexpr std::size_t kMaxPendingSse = 8 << 20;

// The stream's last event when it fails: OpenAI's error shape, as every other error.
std::string error_event(std::string message) {
  return http::format_sse(core::to_json(
      core::ApiError{0, "upstream_error", "stream_interrupted", std::move(message), ""}));
}

// Reads until at least one complete event is pending, the body ends, or an error.
http::Task<http::ClientError> read_events(http::UpstreamResponse& response, http::SseParser& parser,
                                          std::vector<http::SseEvent>& pending, bool& done,
                                          http::Clock::time_point deadline) {
  std::string chunk;
  while (pending.empty() && !done) {
    chunk.clear();
    if (auto err = co_await response.read_some(chunk, done, deadline)) co_return err;
    parser.feed(chunk, pending);
    if (parser.pending_bytes() > kMaxPendingSse) {
      co_return http::ClientError{http::ClientErrorKind::too_large,
                                  "upstream sent an SSE event larger than 8 MiB"};
    }
  }
  co_return http::ClientError{};
}

// A chunk without its top-level "usage" member. The usual form, `,"usage":null` exactly once, is
// cut out of the text (inside a JSON string those quotes would be escaped, so an unescaped match is
// a member); anything else goes through a parse and a re-serialisation.
std::string without_usage(std::string_view data) {
  constexpr std::string_view kNullUsage = ",\"usage\":null";
  std::size_t at = data.find(kNullUsage);
  if (at != std::string_view::npos && data.find(kNullUsage, at + 1) == std::string_view::npos) {
    std::string out(data.substr(0, at));
    out += data.substr(at + kNullUsage.size());
    return out;
  }
  auto parsed = core::parse_json(data, 256);
  auto* value = std::get_if<boost::json::value>(&parsed);
  if (value == nullptr || !value->is_object()) return std::string(data);
  value->get_object().erase("usage");
  return boost::json::serialize(*value);
}

}  // namespace

http::Task<void> serve_chat_stream(WorkerContext& worker, ChatRequest& chat,
                                   const ModelEntry& model, http::Responder& responder) {
  auto started = http::Clock::now();
  auto& metrics = worker.state.metrics;
  http::SseParser parser;
  std::vector<http::SseEvent> pending;
  bool upstream_done = false;

  AcceptFn accept = [&](const RouteState&, http::UpstreamResponse& response,
                        http::Clock::time_point deadline) -> http::Task<std::optional<Failure>> {
    parser = http::SseParser{};
    pending.clear();
    upstream_done = false;
    std::string_view type = http::find_header(response.headers(), "content-type");
    if (type.find("text/event-stream") == std::string_view::npos) {
      std::string body;
      co_await response.read_all(body, 1 << 20, deadline);
      co_return Failure{FailureKind::protocol,
                        response.status(),
                        "upstream answered a stream request with " +
                            std::string(type.empty() ? "no content type" : type),
                        {},
                        {}};
    }
    if (auto err = co_await read_events(response, parser, pending, upstream_done, deadline)) {
      co_return failure_from(err);
    }
    if (pending.empty()) {
      co_return Failure{FailureKind::reset,
                        response.status(),
                        "upstream closed the stream before its first event",
                        {},
                        {}};
    }
    if (auto first = providers::scan_answer(pending.front().data); first && first->has_error) {
      co_return Failure{FailureKind::server_error,
                        response.status(),
                        "upstream stream began with an error: " + first->error_message,
                        {},
                        {}};
    }
    co_return std::nullopt;
  };
  BodyFn body_for = [&](const RouteState& route) {
    return providers::OpenAiProvider::chat_body(chat.body, route.route.model, true);
  };
  ChainResult chain = co_await worker.runner.run(chat.model, model.routes, "/chat/completions",
                                                 body_for, accept, &responder.cancel_signal());
  if (chain.cancelled) {  // the client is gone, or shutdown cut the request
    if (cut_by_shutdown(responder)) co_await responder.send(error_response(core::shutting_down()));
    co_return;
  }
  if (chain.route == nullptr) {
    co_await responder.send(chain_failure_response(worker.state, chat.model, chain));
    co_return;
  }

  const std::string& label = chain.route->route.label;
  const auto& pconf = *chain.route->provider_config;
  http::Headers headers = route_headers(chain, nullptr);
  headers.push_back(
      {"Trailer", "x-tandem-cost-usd, x-tandem-prompt-tokens, x-tandem-completion-tokens"});
  core::Usage usage;
  // Every exit after this point records the call: the upstream bills it even if the client left.
  auto record = [&] {
    ledger::Charge charge = ledger::charge(usage, chain.route->route.price);
    record_model_call(worker.state, chat.model, chain, charge, started);
    return charge;
  };
  if (!co_await responder.begin_stream(200, "text/event-stream", std::move(headers))) {
    record();
    co_return;
  }

  std::string out;
  std::string failure;  // set when the stream must end with an error event
  bool saw_done = false;
  http::UpstreamResponse& upstream = *chain.response;
  while (true) {
    out.clear();
    for (auto& event : pending) {
      if (event.data == "[DONE]") {
        saw_done = true;
        break;
      }
      auto scan = providers::scan_answer(event.data);
      if (!scan) {
        failure = "upstream sent an event that is not a JSON object";
        break;
      }
      if (scan->has_error) {
        failure = "upstream error mid-stream: " +
                  (scan->error_message.empty() ? std::string("(no message)") : scan->error_message);
        break;
      }
      if (scan->usage.known) usage = scan->usage;
      if (scan->usage_member && !chat.include_usage) {
        // Usage was asked for by Tandem, not the client: give the client the stream it asked
        // for, without the usage-only chunk and without "usage" members.
        if (!scan->has_choices || scan->choices == 0) continue;
        out += http::format_sse(without_usage(event.data));
        continue;
      }
      out += http::format_sse(event.data);
    }
    pending.clear();
    if (!out.empty() && !co_await responder.write_chunk(std::move(out))) {
      log::info("client_disconnected", {{"model", chat.model}, {"route", label}});
      record();
      co_return;  // dropping the upstream response closes its connection
    }
    if (saw_done || !failure.empty()) break;
    if (upstream_done) {
      failure = "upstream ended the stream without [DONE]";
      break;
    }
    auto err = co_await read_events(upstream, parser, pending, upstream_done,
                                    http::Clock::now() + pconf.stream_idle_timeout);
    if (cut_by_shutdown(responder)) {
      failure = "the server is shutting down";
      break;
    }
    if (responder.cancel_signal().cancelled()) {
      log::info("client_disconnected", {{"model", chat.model}, {"route", label}});
      record();
      co_return;
    }
    if (err) {
      failure = err.kind == http::ClientErrorKind::timeout
                    ? "upstream sent no event for " +
                          std::to_string(pconf.stream_idle_timeout.count()) + " ms"
                    : std::string("upstream stream interrupted: ") + http::to_string(err.kind) +
                          (err.message.empty() ? "" : " (" + err.message + ")");
      break;
    }
  }

  ledger::Charge charge = record();
  http::Headers trailers = cost_headers(charge);
  std::string tail;
  if (charge.usage.known) {
    // Also as an SSE comment, which every SSE client ignores but a person can read.
    tail =
        ": tandem route=" + label + " cost_usd=" + core::format_usd(charge.cost_pico_usd) + "\n\n";
  }
  if (!failure.empty()) {
    metrics.stream_errors.with({chat.model, label}).inc();
    log::warn("stream_failed", {{"model", chat.model}, {"route", label}, {"reason", failure}});
    tail += error_event(std::move(failure));
    co_await responder.write_chunk(std::move(tail));
    co_await responder.end_stream(true, std::move(trailers));
    co_return;
  }
  tail += "data: [DONE]\n\n";
  co_await responder.write_chunk(std::move(tail));
  co_await responder.end_stream(false, std::move(trailers));
  if (!upstream_done) {
    // Read the end of the upstream body (after the client has its answer) so that the
    // connection can go back to the pool.
    std::string rest;
    co_await upstream.read_all(rest, 1 << 20, http::Clock::now() + std::chrono::seconds(1));
  }
}

}  // namespace tandem::api
