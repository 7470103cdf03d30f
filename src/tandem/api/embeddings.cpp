#include "tandem/api/embeddings_request.h"
#include "tandem/api/endpoints.h"
#include "tandem/api/model_call.h"

namespace tandem::api {

http::Task<void> serve_embeddings(WorkerContext& worker, const http::Request& request,
                                  http::Responder& responder) {
  auto started = http::Clock::now();
  auto parsed = parse_embeddings_request(request.body, worker.state.config.server.max_json_depth);
  if (auto* error = std::get_if<core::ApiError>(&parsed)) {
    co_await responder.send(error_response(*error));
    co_return;
  }
  EmbeddingsRequest& req = std::get<EmbeddingsRequest>(parsed);
  auto found = find_model_for(worker.state, req.model, true);
  if (auto* error = std::get_if<core::ApiError>(&found)) {
    co_await responder.send(error_response(*error));
    co_return;
  }
  const ModelEntry* model = std::get<const ModelEntry*>(found);
  BodyFn body_for = [&](const RouteState& route) {
    return providers::OpenAiProvider::embeddings_body(req.body, route.route.model);
  };
  co_await forward_json(worker, req.model, *model, "/embeddings", false, body_for, responder,
                        started);
}

}  // namespace tandem::api
