#pragma once
// The validated, typed form of tandem.toml. Nothing downstream reads TOML: they read these structs.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
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
  // fastText language identification (lid.176.ftz): tasks whose rules test the language detect
  // it when a request does not say. Empty: only the request's context.language counts.
  std::string language_model;
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
  // An idle model's wait for a burst of requests before its first step (llm/start_window.h):
  // up to `start_gap_ms` for each next arrival, `start_max_ms` in all. 0 turns it off.
  double start_gap_ms = 10;
  double start_max_ms = 40;
};

struct ProviderConfig {
  std::string name;
  std::string kind;  // "openai", "local" or "replay"
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
  // kind "replay": recorded answers (a RouterBench CSV, or a folder of RouteLLM CSVs).
  std::string replay_data;    // resolved against the config file's folder
  std::string replay_format;  // "routerbench" or "routellm"; empty: detected from the header

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

// The variant name the model `tandem distill` writes runs under (the config refuses it for others).
inline constexpr std::string_view kDistilledVariant = "distilled";

// One few-shot example of an LLM variant: the input (the same shape as a request's input) and
// the answer the model should give (for a label-set task, the label).
struct ExampleConfig {
  std::string input_json;   // a JSON object, e.g. {"text": "great value"}
  std::string output_json;  // a JSON value: "positive", or an object for a schema task
};

// One way to do a task (see ../shared/DESIGN.md, "Variant").
struct VariantConfig {
  std::string name;
  std::string kind;  // "tailored" or "llm"

  // kind "tailored": a `tandem train` artifact whose kind matches the task's input kind.
  std::string artifact;  // resolved against the config file's folder

  // kind "llm": a [models.<name>] chat model (its routes are its providers and fallbacks).
  std::string model;
  std::string system_template;          // Jinja; may be empty
  std::string user_template;            // Jinja; `template` or `template_file` (required)
  std::vector<ExampleConfig> examples;  // `examples` inline, or `examples_file` (JSONL)
  int retrieve_examples = 0;  // > 0: the k examples nearest the input (by embedding), else all
  // "glove", or an embeddings [models.<name>] (type = "embeddings") on any provider that embeds:
  // local (in process) or OpenAI-compatible (its /embeddings API; the examples are embedded at
  // start in batches, the input per request on the worker pool, and those tokens are charged to
  // the request at the route's input price). Replay providers cannot embed.
  std::string embedder = "glove";
  int max_prompt_tokens = 0;  // 0: no budget; few-shot examples are trimmed first
  double temperature = 0.0;
  double top_p = 1.0;
  int max_tokens = 256;
  std::int64_t seed = -1;  // -1: the provider's choice
  std::string lora;        // local models: an adapter name
  // How an answer gets its confidence: "logprobs" (token probabilities, where the provider gives
  // them), "agreement" (share of `samples` answers that agree), "router" (the learned router's
  // P(correct) for this variant on this input), "router_agreement" (that prior combined with
  // agreement with the answers of the cascade stages that ran before it: an answer that repeats
  // an earlier one gains confidence, one that contradicts it loses some; see
  // routing::agreement_confidence), or "none". `tandem eval --task` fits cascade thresholds on
  // "router" or "router_agreement", the same numbers the gateway computes.
  std::string confidence = "logprobs";
  int samples = 5;
};

// A rule of a task's decision table: when every condition it sets holds for the request's
// context, the request runs `use` (in order: the first answers, the rest are its fallbacks).
struct RuleConfig {
  std::vector<std::string> stakes;             // "low", "medium", "high"; empty: any
  std::optional<bool> explain;                 // the request needs an explanation
  std::vector<std::string> resources;          // "low", "normal"; empty: any
  std::optional<int> latency_budget_below_ms;  // the request's budget is below this
  std::optional<std::size_t> input_chars_above;
  std::optional<std::size_t> input_chars_below;
  std::vector<std::string> languages;  // ISO 639-1 codes; empty: any
  std::vector<std::string> use;        // variant names
};

struct PolicyConfig {
  // "single" (the first variant), "cascade" (cheapest first, escalate when unsure), "split"
  // (weighted, sticky per user), "router" (a learned router picks one variant per request).
  std::string kind = "single";
  std::vector<std::string> variants;  // order matters: cascade stages, split arms, candidates
  std::vector<double> thresholds;     // cascade: one per stage but the last
  std::string thresholds_file;        // cascade: fitted thresholds (JSON), overrides thresholds
  std::vector<double> weights;        // split: one per arm
  std::string router;                 // router: artifact of `tandem train router`
  double cost_weight = 0.5;           // router: 0 = best quality, 1 = cheapest
  std::vector<std::string> fallback;  // variants tried, in order, when the chosen one fails
};

// `tandem distill`: the recorded answers of `teacher` become a tailored model that joins the
// cascade as its cheap first stage once it agrees with the teacher often enough.
struct DistillConfig {
  std::string teacher;      // an llm variant
  std::string artifact;     // where the distilled model is written (and read at start)
  double agreement = 0.95;  // required agreement with the teacher on the answers it accepts
  std::size_t min_records = 200;
};

// A task served on POST /v1/tasks/<name>. The short form (`kind` + `model`) is one tailored
// model; the long form declares a contract, variants and a policy.
struct TaskConfig {
  std::string name;
  // The input kind: "text", "recsys" or "vision". Tailored variants must match it; LLM variants
  // need "text".
  std::string kind;
  std::string model;  // short form: artifact path (becomes the variant "model")
  // The output contract: "labels" (one of `labels`), "json" (matches `schema`), "ranked"
  // (recsys items) or "text" (free text).
  std::string contract;
  std::vector<std::string> labels;
  std::string schema_json;                // contract "json": a JSON schema (inline or file)
  std::vector<std::string> input_fields;  // the fields a text input may carry (default: text)
  std::vector<VariantConfig> variants;
  PolicyConfig policy;
  std::vector<RuleConfig> rules;
  std::optional<DistillConfig> distill;
  std::string record;  // JSONL file every answer is appended to (empty: none)
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

  const VariantConfig* find_variant(std::string_view name) const;
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
