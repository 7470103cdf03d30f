#include <boost/json.hpp>

#include "tandem/api/endpoints.h"
#include "tandem/api/model_call.h"

namespace tandem::api {

http::Task<void> serve_chat_completions(WorkerContext& worker, const http::Request& request,
                                        http::Responder& responder) {
  auto started = http::Clock::now();
  auto parsed = parse_chat_request(request.body, worker.state.config.server.max_json_depth);
  if (auto* error = std::get_if<core::ApiError>(&parsed)) {
    co_await responder.send(error_response(*error));
    co_return;
  }
  ChatRequest& chat = std::get<ChatRequest>(parsed);
  auto found = find_model_for(worker.state, chat.model, false);
  if (auto* error = std::get_if<core::ApiError>(&found)) {
    co_await responder.send(error_response(*error));
    co_return;
  }
  const ModelEntry* model = std::get<const ModelEntry*>(found);
  if (chat.stream) {
    co_await serve_chat_stream(worker, chat, *model, responder);
    co_return;
  }

  std::string body;
  core::Usage usage;
  AcceptFn accept = [&](const RouteState&, http::ClientResponse& response,
                        http::Clock::time_point deadline) {
    return read_json_answer(response, deadline, true, body, usage);
  };
  BodyFn body_for = [&](const RouteState& route) {
    return providers::OpenAiProvider::chat_body(chat.body, route.route.model, false);
  };
  ChainResult chain = co_await worker.runner.run(chat.model, model->routes, "/chat/completions",
                                                 body_for, accept, &responder.cancel_signal());
  if (chain.cancelled) {  // the client is gone, or shutdown cut the request
    if (cut_by_shutdown(responder)) co_await responder.send(error_response(core::shutting_down()));
    co_return;
  }
  if (chain.route == nullptr) {
    co_await responder.send(chain_failure_response(worker.state, chat.model, chain));
    co_return;
  }
  ledger::Charge charge = ledger::charge(usage, chain.route->route.price);
  record_model_call(worker.state, chat.model, chain, charge, started);
  http::Response r;
  r.headers = route_headers(chain, &charge);
  r.body = std::move(body);
  co_await responder.send(std::move(r));
}

}  // namespace tandem::api
