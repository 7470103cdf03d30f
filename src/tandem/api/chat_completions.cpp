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

  BodyFn body_for = [&](const RouteState& route) {
    return providers::OpenAiProvider::chat_body(chat.body, route.route.model, false);
  };
  co_await forward_json(worker, chat.model, *model, "/chat/completions", true, body_for, responder,
                        started);
}

}  // namespace tandem::api
