#pragma once
// Provider kind "openai": any OpenAI-compatible HTTP(S) endpoint (OpenAI, vLLM, Ollama,
// llama-server, ...). It knows the endpoint, the credentials and how to shape a request body for
// a given upstream model; the fallback chain decides when and where to send it.
#include <boost/json/object.hpp>
#include <string>
#include <string_view>

#include "tandem/config/config.h"
#include "tandem/http/client.h"

namespace tandem::providers {

class OpenAiProvider {
 public:
  explicit OpenAiProvider(const config::ProviderConfig& config);

  const config::ProviderConfig& config() const { return config_; }
  const http::Endpoint& endpoint() const { return endpoint_; }

  // POST base_path + path with the JSON body, authenticated with the provider's key.
  http::OutgoingRequest build_request(std::string_view path, std::string body) const;

  // The client's chat request rewritten for this route (in place: each route rewrites the same
  // fields): the upstream's model name, and for streams usage reporting switched on, so that cost
  // is exact for streams too.
  static std::string chat_body(boost::json::object& request, std::string_view upstream_model,
                               bool stream);
  static std::string embeddings_body(boost::json::object& request, std::string_view upstream_model);

 private:
  config::ProviderConfig config_;
  http::Endpoint endpoint_;
};

}  // namespace tandem::providers
