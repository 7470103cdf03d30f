#pragma once
// The validated, typed form of tandem.toml. Nothing downstream reads TOML: they read these structs.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "tandem/config/url.h"
#include "tandem/core/money.h"

namespace tandem::config {

using Millis = std::chrono::milliseconds;

struct ServerConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  int threads = 0;                       // 0: one per core
  std::size_t max_body_bytes = 4 << 20;  // larger bodies get 413
  std::size_t max_header_bytes = 16 << 10;
  Millis read_timeout{30'000};   // to receive a whole request once its first byte arrived
  Millis idle_timeout{60'000};   // keep-alive connection with no request
  Millis drain_timeout{15'000};  // graceful shutdown waits this long for in-flight requests
  int max_json_depth = 64;
  bool metrics_require_auth = false;
  std::string log_level = "info";
  // The tailored-model worker pool: inference never runs on the network threads.
  int task_workers = 0;           // 0: one per core
  std::size_t task_queue = 1024;  // jobs waiting beyond this get 503
  Millis task_timeout{10'000};    // a job not done by then gets 504
};

// A LoRA adapter (GGUF) of a local model, selectable per request ("lora") or per route.
struct LocalLoraConfig {
  std::string name;
  std::string path;
  double scale = 1.0;
};

// A GGUF model served in process by a provider of kind "local".
struct LocalModelConfig {
  std::string name;    // what routes name as `model`
  std::string path;    // resolved against the config file's folder
  int context = 4096;  // tokens per sequence
  int parallel = 4;    // sequences decoded together in one batch
  int threads = 0;     // 0: all cores
  int batch = 512;     // most tokens per decode
  int gpu_layers = 0;
  bool embeddings = false;
  std::vector<LocalLoraConfig> loras;
};

struct ProviderConfig {
  std::string name;
  std::string kind;  // "openai" or "local"
  Url base_url;
  std::string api_key;  // resolved from api_key_env; empty for none. Never logged.
  Millis connect_timeout{5'000};
  Millis request_timeout{60'000};      // whole non-streamed response, or a stream's first event
  Millis stream_idle_timeout{30'000};  // longest gap between two streamed events
  int max_retries = 2;                 // extra attempts on the same route for retryable failures
  Millis retry_base_delay{100};
  Millis retry_max_delay{2'000};  // also the longest Retry-After honoured before falling back
  int max_idle_connections = 64;  // per upstream per thread
  int breaker_failure_threshold = 5;
  Millis breaker_cooldown{10'000};
  bool verify_tls = true;
  std::string ca_file;                         // extra CA bundle (PEM), e.g. for a private upstream
  core::Price price;                           // default for routes that do not set their own
  std::vector<LocalModelConfig> local_models;  // kind "local"

  const LocalModelConfig* find_local_model(std::string_view name) const;
};

struct RouteConfig {
  std::size_t provider_index = 0;  // into Config::providers
  std::string provider;            // provider name, for logs and labels
  std::string model;               // the upstream's model name
  std::string lora;                // local models: the adapter this route applies
  core::Price price;
  std::string label;  // "provider:model", used in headers, metrics and logs
};

struct ModelConfig {
  std::string name;                 // the public name clients ask for
  std::vector<RouteConfig> routes;  // in order: the fallback chain
  bool embeddings = false;          // served on /v1/embeddings instead of chat
};

// A tailored task: a trained model artifact (`tandem train`) served on POST /v1/tasks/<name>.
struct TaskConfig {
  std::string name;
  std::string kind;   // "text", "recsys" or "vision"; must match the artifact's kind
  std::string model;  // artifact path, resolved against the config file's folder
  // text: explanation tokens returned by default (a request may ask for 0 to 50).
  int explain = 5;
  // recsys: items returned by default and at most; unknown users get the most popular items
  // unless `fallback` is false (then a 400).
  int top_n = 10;
  int max_n = 100;
  bool fallback = true;
  // vision: labels returned by default; the largest image accepted (encoded bytes).
  int top_k = 3;
  std::size_t max_image_bytes = 4 << 20;
};

struct ClientKey {
  std::string name;  // for logs and metrics; the key itself is never logged
  std::string key;
};

struct Config {
  ServerConfig server;
  std::vector<ProviderConfig> providers;
  std::vector<ModelConfig> models;
  std::vector<TaskConfig> tasks;
  std::vector<ClientKey> client_keys;  // empty: no authentication (a warning at start)

  const ModelConfig* find_model(std::string_view name) const;
  const TaskConfig* find_task(std::string_view name) const;
};

}  // namespace tandem::config
