#pragma once
// An embeddings [models.<name>] as the sentence embedder of few-shot example retrieval, in place
// of the GloVe default: its routes in order, each a remote OpenAI-compatible /embeddings API
// (any provider of kind "openai") or a model served in process (kind "local").
//
// embed() and embed_batch() block until the provider answers: call them on the worker pool or at
// load, never on a network thread. A remote call runs on this thread's own io_context with the
// gateway's HTTP client (TLS, keep-alive pool, deadlines), so no network thread waits for it.
//
// Every route must serve the same embedding model (e.g. one API and a proxy of it): the examples'
// vectors, made at load, are compared with each request's, made by whichever route answers.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tandem/config/config.h"
#include "tandem/core/usage.h"
#include "tandem/prompts/example_store.h"
#include "tandem/providers/openai_provider.h"
#include "tandem/routing/circuit_breaker.h"

namespace tandem::providers {

struct EmbedderRoute {
  std::size_t config_route = 0;  // index into the model's routes in the config
  std::string label;             // "provider:model", for errors, metrics and the spend
  std::string upstream_model;    // what the provider calls the model
  core::Price price;             // the route's price: embedding tokens are input tokens
  std::shared_ptr<const OpenAiProvider> http;              // a remote route, or ...
  std::shared_ptr<const prompts::SentenceEmbedder> local;  // ... one served in process
  // The route's circuit breaker, shared with the gateway's calls to the same route (null: none).
  // An open circuit skips the route, so a dead first route costs no connect or timeout per call.
  routing::CircuitBreaker* breaker = nullptr;
};

// One attempt at one route, for the gateway's metrics.
struct EmbedderAttempt {
  std::size_t route = 0;  // index into the routes
  std::string outcome;    // "ok", or the failure kind (routing::to_string; "circuit_open": not
                          // sent, its breaker is open)
  core::Usage usage;      // "ok" from a remote route: what the provider reported
  std::int64_t cost_pico_usd = 0;
  double seconds = 0;
};

class ModelEmbedder final : public prompts::SentenceEmbedder {
 public:
  // Inputs per request: large enough that loading a few thousand examples takes few requests,
  // small enough for every provider's limit (OpenAI takes 2048).
  static constexpr std::size_t kBatch = 64;
  using Observer = std::function<void(const EmbedderAttempt&)>;

  // `max_wait` caps each remote request's deadline below its provider's request_timeout (the
  // gateway passes its task timeout: a worker should not wait for an answer nobody waits for).
  // `observer` (may be empty) is called after every attempt, on the calling thread.
  ModelEmbedder(std::string model, std::vector<EmbedderRoute> routes, Observer observer = {},
                std::chrono::milliseconds max_wait = std::chrono::milliseconds::max());

  const std::string& model() const { return model_; }
  const std::vector<EmbedderRoute>& routes() const { return routes_; }

  std::vector<float> embed(std::string_view text) const override;
  // kBatch texts per request, each request down the routes in order (one attempt per route, none
  // at a route whose circuit is open).
  // Throws prompts::EmbedderError naming every route's failure when none answers (never the API
  // key), at once when a provider rejects the request itself (a 400: no other route would take
  // it either).
  std::vector<std::vector<float>> embed_batch(std::span<const std::string> texts,
                                              prompts::EmbeddingSpend* spend) const override;

 private:
  std::vector<std::vector<float>> embed_chunk(std::span<const std::string> texts,
                                              prompts::EmbeddingSpend* spend) const;

  std::string model_;
  std::vector<EmbedderRoute> routes_;
  Observer observer_;
  std::chrono::milliseconds max_wait_;
};

// The routes of an embeddings model from the config: remote ones with their provider, local ones
// from `local_route` (null, or returning null: that route is left out, e.g. where no model is
// loaded). Replay providers cannot embed; the config refuses them, and they are left out here.
std::vector<EmbedderRoute> embedder_routes(
    const config::Config& config, const config::ModelConfig& model,
    const std::function<std::shared_ptr<const prompts::SentenceEmbedder>(
        const config::RouteConfig&)>& local_route = {});

}  // namespace tandem::providers
