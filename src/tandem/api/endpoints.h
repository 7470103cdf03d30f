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

// POST /v1/tasks/<name>: runs a tailored task on the worker pool.
http::Task<void> serve_task(WorkerContext& worker, const http::Request& request,
                            http::Responder& responder, std::string_view name);
// GET /v1/tasks: every task with its model's metadata.
http::Task<void> serve_task_list(WorkerContext& worker, http::Responder& responder);
// POST /v1/tasks/<name>/reload: reads the task's artifact again and swaps it in.
http::Task<void> serve_task_reload(WorkerContext& worker, http::Responder& responder,
                                   std::string_view name);

}  // namespace tandem::api
