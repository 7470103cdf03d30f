#include "tandem/providers/openai_provider.h"

#include <boost/json.hpp>

namespace tandem::providers {

OpenAiProvider::OpenAiProvider(const config::ProviderConfig& config) : config_(config) {
  endpoint_.tls = config.base_url.tls;
  endpoint_.host = config.base_url.host;
  endpoint_.port = config.base_url.port;
  endpoint_.host_header = config.base_url.host_header();
  endpoint_.verify_tls = config.verify_tls;
  endpoint_.ca_file = config.ca_file;
  endpoint_.max_idle_connections = config.max_idle_connections;
}

http::OutgoingRequest OpenAiProvider::build_request(std::string_view path, std::string body) const {
  http::OutgoingRequest r;
  r.method = "POST";
  r.target = config_.base_url.target(path);
  r.headers.push_back({"Content-Type", "application/json"});
  r.headers.push_back({"Accept", "application/json, text/event-stream"});
  if (!config_.api_key.empty()) r.headers.push_back({"Authorization", "Bearer " + config_.api_key});
  r.body = std::move(body);
  return r;
}

std::string OpenAiProvider::chat_body(boost::json::object& body, std::string_view upstream_model,
                                      bool stream) {
  body["model"] = upstream_model;
  if (stream) {
    boost::json::value& options = body["stream_options"];
    if (!options.is_object()) options = boost::json::object(body.storage());
    options.get_object()["include_usage"] = true;
  }
  return boost::json::serialize(body);
}

std::string OpenAiProvider::embeddings_body(boost::json::object& body,
                                            std::string_view upstream_model) {
  body["model"] = upstream_model;
  return boost::json::serialize(body);
}

}  // namespace tandem::providers
