#pragma once
// The model endpoints. Each takes a request that is already authenticated.
#include "tandem/api/chat_request.h"
#include "tandem/api/context.h"
#include "tandem/http/message.h"

namespace tandem::api {

// POST /v1/chat/completions (non-streamed and streamed).
http::Task<void> serve_chat_completions(WorkerContext& worker, const http::Request& request,
                                        http::Responder& responder);
// The streamed half of chat completions: SSE relay with exact usage and error events.
http::Task<void> serve_chat_stream(WorkerContext& worker, ChatRequest& chat,
                                   const ModelEntry& model, http::Responder& responder);
// POST /v1/embeddings.
http::Task<void> serve_embeddings(WorkerContext& worker, const http::Request& request,
                                  http::Responder& responder);

}  // namespace tandem::api
