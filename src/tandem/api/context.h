#pragma once
// What the endpoint handlers share: the gateway's state (read-only after start, plus atomics) and
// each server thread's own context (its upstream client and route runner).
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tandem/api/auth.h"
#include "tandem/api/route_runner.h"
#include "tandem/config/config.h"
#include "tandem/http/client.h"
#include "tandem/metrics/gateway_metrics.h"
#include "tandem/metrics/registry.h"
#include "tandem/models/text/language_id.h"
#include "tandem/providers/local_provider.h"
#include "tandem/providers/openai_provider.h"
#include "tandem/store/record_writer.h"
#include "tandem/tasks/task_registry.h"
#include "tandem/tasks/worker_pool.h"

namespace tandem::api {

struct ModelEntry {
  const config::ModelConfig* config = nullptr;
  std::vector<RouteState*> routes;
};

struct GatewayState {
  explicit GatewayState(config::Config cfg);
  // Joins the task workers first: a job still running (an embedder waiting for its provider)
  // counts into the metrics, which are members declared after the pool.
  ~GatewayState();
  GatewayState(const GatewayState&) = delete;
  GatewayState& operator=(const GatewayState&) = delete;
  const ModelEntry* find_model(std::string_view name) const;

  config::Config config;
  // One entry per configured provider, by index: an HTTP provider, a local one or a replay one.
  std::vector<std::unique_ptr<providers::OpenAiProvider>> http_providers;
  std::vector<std::unique_ptr<providers::LocalProvider>> local_providers;
  std::vector<std::unique_ptr<providers::ReplayProvider>> replay_providers;
  std::vector<std::unique_ptr<RouteState>> route_states;
  std::map<std::string, ModelEntry, std::less<>> models;
  // Tailored tasks (null when the config has none) and the threads that run them.
  std::unique_ptr<tasks::TaskRegistry> task_registry;
  std::unique_ptr<tasks::WorkerPool> task_pool;
  // Detects a request's language for tasks whose rules test it (null without [server]
  // language_model).
  std::unique_ptr<models::text::LanguageId> language_id;
  // Each recording task's record file (task name -> writer).
  std::map<std::string, std::unique_ptr<store::RecordWriter>, std::less<>> task_records;
  Authenticator auth;
  metrics::Registry registry;
  metrics::GatewayMetrics metrics;
  // Copies the local engines' counters into the metrics (when /metrics is read).
  void refresh_local_metrics();
  // Reloads every task's model (SIGHUP); returns one line per task: ok, or why it failed.
  std::vector<std::string> reload_tasks();
  std::mutex local_metrics_mutex;
  std::int64_t created_unix = 0;

 private:
  // The sentence embedder an embeddings model gives few-shot retrieval: its routes, remote or
  // local, counted in its route metrics.
  std::shared_ptr<const prompts::SentenceEmbedder> make_embedder(const config::ModelConfig& m);
  // One line per retrieving LLM variant: how many examples were embedded at start, and the cost.
  void log_examples_embedded() const;
};

struct WorkerContext {
  WorkerContext(GatewayState& s, asio::io_context& io)
      : state(s), ioc(io), client(io), runner(io, client, s.metrics) {}
  GatewayState& state;
  asio::io_context& ioc;
  http::HttpClient client;
  RouteRunner runner;
};

}  // namespace tandem::api
