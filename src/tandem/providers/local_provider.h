#pragma once
// Provider kind "local": GGUF models served in process by llama.cpp (one llm::Engine, with its
// scheduler thread, per model). It takes the same OpenAI request body an HTTP provider would be
// sent and answers with an http::UpstreamResponse that reads like an OpenAI-compatible server's
// answer (a JSON body, or SSE events as tokens are generated). So the fallback chain, retries,
// stream commitment, usage accounting and error events apply to local models unchanged; and a
// prompt too long for a local model is a context_length failure, on which the chain moves to the
// next route.
#include <map>
#include <memory>
#include <string>

#include "tandem/config/config.h"
#include "tandem/http/client.h"
#include "tandem/llm/engine.h"

namespace tandem::providers {

class LocalProvider {
 public:
  // Loads every model of the provider; throws llm::EngineError naming the file that failed.
  explicit LocalProvider(const config::ProviderConfig& config);

  const config::ProviderConfig& config() const { return config_; }
  llm::Engine* engine(std::string_view model) const;

  struct Result {
    std::unique_ptr<http::UpstreamResponse> response;
    http::ClientError error;
  };
  // Runs an OpenAI chat ("/chat/completions") or embeddings ("/embeddings") request body on the
  // route's model. Returns once the answer's head is known: an error status with OpenAI's error
  // body, a complete JSON answer, or a stream whose first event is ready.
  http::Task<Result> send(std::string_view path, const std::string& body,
                          const config::RouteConfig& route, http::Clock::time_point deadline,
                          http::CancelSignal* cancel);

 private:
  config::ProviderConfig config_;
  std::map<std::string, std::unique_ptr<llm::Engine>, std::less<>> engines_;
};

}  // namespace tandem::providers
