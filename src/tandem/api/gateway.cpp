#include "tandem/api/gateway.h"

#include <array>
#include <boost/json.hpp>
#include <chrono>
#include <random>

#include "tandem/api/context.h"
#include "tandem/api/endpoints.h"
#include "tandem/api/model_call.h"
#include "tandem/log/logger.h"
#include "tandem/providers/local_embedder.h"
#include "tandem/providers/model_embedder.h"

namespace tandem::api {

GatewayState::GatewayState(config::Config cfg)
    : config(std::move(cfg)), auth(config.client_keys), metrics(registry) {
  created_unix = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  for (const auto& p : config.providers) {
    http_providers.push_back(nullptr);
    local_providers.push_back(nullptr);
    replay_providers.push_back(nullptr);
    if (p.kind == "local") {
      local_providers.back() = std::make_unique<providers::LocalProvider>(p);
    } else if (p.kind == "replay") {
      replay_providers.back() = std::make_unique<providers::ReplayProvider>(p);
    } else {
      http_providers.back() = std::make_unique<providers::OpenAiProvider>(p);
    }
  }
  for (const auto& m : config.models) {
    ModelEntry entry;
    entry.config = &m;
    for (const auto& r : m.routes) {
      // A replayed model must be one the recorded set has: checked once here, not per request.
      if (const auto* replay = replay_providers[r.provider_index].get();
          replay != nullptr && !replay->store().set().find_model(r.model)) {
        throw std::runtime_error("model '" + m.name + "': the recorded answers of provider '" +
                                 r.provider + "' have no model '" + r.model + "'");
      }
      route_states.push_back(std::make_unique<RouteState>(
          r, config.providers[r.provider_index], http_providers[r.provider_index].get(),
          local_providers[r.provider_index].get(), replay_providers[r.provider_index].get(),
          metrics, m.name));
      entry.routes.push_back(route_states.back().get());
    }
    models.emplace(m.name, std::move(entry));
  }
  if (!config.server.language_model.empty()) {
    language_id = std::make_unique<models::text::LanguageId>(config.server.language_model);
  }
  // Tailored models load here too: a missing or corrupt artifact stops the start with its name.
  if (!config.tasks.empty()) {
    tasks::TaskLoadOptions options;
    for (const auto& m : config.models) {
      if (m.routes.empty()) continue;
      options.first_route_models[m.name] = m.routes.front().model;
      if (m.embeddings) options.embedders[m.name] = make_embedder(m);
    }
    task_registry = std::make_unique<tasks::TaskRegistry>(config.tasks, std::move(options));
    log_examples_embedded();
    for (const auto& t : config.tasks) {
      if (!t.record.empty()) {
        task_records.emplace(t.name, std::make_unique<store::RecordWriter>(t.record));
      }
    }
    task_pool =
        std::make_unique<tasks::WorkerPool>(config.server.task_workers, config.server.task_queue);
  }
}

GatewayState::~GatewayState() {
  task_pool.reset();
}

std::shared_ptr<const prompts::SentenceEmbedder> GatewayState::make_embedder(
    const config::ModelConfig& m) {
  auto local_route =
      [this, &m](const config::RouteConfig& r) -> std::shared_ptr<const prompts::SentenceEmbedder> {
    const providers::LocalProvider* local = local_providers[r.provider_index].get();
    llm::Engine* engine = local != nullptr ? local->engine(r.model) : nullptr;
    if (engine == nullptr) return nullptr;
    return std::make_shared<providers::LocalEmbedder>(*engine, m.name);
  };
  std::vector<providers::EmbedderRoute> routes = providers::embedder_routes(config, m, local_route);
  // The embedder's calls count in the model's route metrics like /v1/embeddings calls: attempts,
  // latency, tokens and cost (the examples' embedding at load included).
  // They share each route's circuit breaker with those calls too.
  std::vector<RouteState*> states;
  for (auto& r : routes) {
    RouteState* state = models.at(m.name).routes.at(r.config_route);
    r.breaker = &state->breaker;
    states.push_back(state);
  }
  auto observe = [this, model = m.name, states](const providers::EmbedderAttempt& a) {
    RouteState& route = *states.at(a.route);
    if (a.outcome == "circuit_open") {  // not sent: nothing to time
      metrics.upstream_attempts.with({model, route.route.label, a.outcome}).inc();
      return;
    }
    route.series.upstream_duration.observe(a.seconds);
    route.publish_circuit();
    if (a.outcome != "ok") {
      metrics.upstream_attempts.with({model, route.route.label, a.outcome}).inc();
      return;
    }
    route.series.attempts_ok.inc();
    route.series.model_duration.observe(a.seconds);
    if (route.local_provider != nullptr) return;  // counted by the engine's own metrics
    record_route_usage(*this, model, route, a.usage, a.cost_pico_usd);
  };
  return std::make_shared<providers::ModelEmbedder>(m.name, std::move(routes), std::move(observe),
                                                    config.server.task_timeout);
}

void GatewayState::log_examples_embedded() const {
  for (const auto& entry : task_registry->entries()) {
    std::shared_ptr<const tasks::LoadedTask> task = entry->loaded();
    for (const auto& v : task->variants()) {
      if (!v.prompt || v.config == nullptr || v.config->retrieve_examples == 0) continue;
      const prompts::EmbeddingSpend& spend = v.prompt->examples_embedding();
      log::info("examples_embedded",
                {{"task", task->config().name},
                 {"variant", v.name},
                 {"embedder", v.config->embedder},
                 {"examples", static_cast<std::int64_t>(v.prompt->example_count())},
                 {"requests", spend.calls},
                 {"tokens", spend.usage.known ? boost::json::value(spend.usage.prompt_tokens)
                                              : boost::json::value(nullptr)},
                 {"cost_usd", core::format_usd(spend.cost_pico_usd)}});
    }
  }
}

std::vector<std::string> GatewayState::reload_tasks() {
  std::vector<std::string> lines;
  if (!task_registry) return lines;
  for (const auto& entry : task_registry->entries()) {
    const std::string& name = entry->config().name;
    try {
      entry->reload();
      metrics.task_reloads.with({name, "ok"}).inc();
      lines.push_back(name + ": reloaded");
    } catch (const std::exception& e) {
      metrics.task_reloads.with({name, "failed"}).inc();
      lines.push_back(name + ": reload failed, the previous model keeps serving: " + e.what());
    }
  }
  return lines;
}

void GatewayState::refresh_local_metrics() {
  std::lock_guard lock(local_metrics_mutex);  // counters move by deltas: one refresh at a time
  auto advance = [](metrics::Counter& c, std::uint64_t total) {
    if (total > c.value()) c.inc(total - c.value());
  };
  for (std::size_t i = 0; i < local_providers.size(); ++i) {
    if (!local_providers[i]) continue;
    for (const auto& m : config.providers[i].local_models) {
      llm::Engine* engine = local_providers[i]->engine(m.name);
      if (engine == nullptr) continue;
      llm::EngineStats s = engine->stats();
      std::string label = config.providers[i].name + ":" + m.name;
      metrics.local_active.with({label}).set(s.active_sequences);
      metrics.local_queued.with({label}).set(s.queued_requests);
      advance(metrics.local_tokens.with({label, "prompt"}), s.prompt_tokens_decoded);
      advance(metrics.local_tokens.with({label, "cached"}), s.prompt_tokens_cached);
      advance(metrics.local_tokens.with({label, "generated"}), s.generated_tokens);
      advance(metrics.local_decodes.with({label}), s.decode_calls);
    }
  }
}

const ModelEntry* GatewayState::find_model(std::string_view name) const {
  auto it = models.find(name);
  return it == models.end() ? nullptr : &it->second;
}

namespace {

std::string request_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::uint64_t a = rng(), b = rng();
  std::string id(32, '0');
  for (int i = 0; i < 16; ++i) {
    id[i] = kHex[(a >> (i * 4)) & 15];
    id[16 + i] = kHex[(b >> (i * 4)) & 15];
  }
  return id;
}

// Wraps the endpoint's responder to learn the status it answered with.
class ObservedResponder final : public http::Responder {
 public:
  ObservedResponder(http::Responder& inner, std::string id) : inner_(inner), id_(std::move(id)) {}
  http::Task<bool> send(http::Response r) override {
    status_ = r.status;
    r.headers.push_back({"x-request-id", id_});
    co_return co_await inner_.send(std::move(r));
  }
  http::Task<bool> begin_stream(int status, std::string type, http::Headers h) override {
    status_ = status;
    h.push_back({"x-request-id", id_});
    co_return co_await inner_.begin_stream(status, std::move(type), std::move(h));
  }
  http::Task<bool> write_chunk(std::string data) override {
    co_return co_await inner_.write_chunk(std::move(data));
  }
  http::Task<void> end_stream(bool close_after, http::Headers trailers) override {
    co_await inner_.end_stream(close_after, std::move(trailers));
  }
  void reset_connection() override { inner_.reset_connection(); }
  http::CancelSignal& cancel_signal() override { return inner_.cancel_signal(); }
  bool responded() const override { return inner_.responded(); }
  int status() const { return status_; }

 private:
  http::Responder& inner_;
  std::string id_;
  int status_ = 0;
};

http::Response json_response(std::string body) {
  http::Response r;
  r.body = std::move(body);
  return r;
}

std::string models_list(const GatewayState& state) {
  boost::json::array data;
  for (const auto& m : state.config.models) {
    data.push_back(boost::json::object{{"id", m.name},
                                       {"object", "model"},
                                       {"created", state.created_unix},
                                       {"owned_by", "tandem"}});
  }
  return boost::json::serialize(boost::json::object{{"object", "list"}, {"data", std::move(data)}});
}

enum class Endpoint {
  chat,
  embeddings,
  models,
  health,
  metrics,
  tasks,
  task,
  task_reload,
  unknown
};

constexpr std::string_view kTasksPrefix = "/v1/tasks/";
constexpr std::string_view kReloadSuffix = "/reload";

Endpoint endpoint_of(std::string_view path) {
  if (path == "/v1/chat/completions") return Endpoint::chat;
  if (path == "/v1/tasks") return Endpoint::tasks;
  if (path.starts_with(kTasksPrefix) && path.size() > kTasksPrefix.size()) {
    std::string_view rest = path.substr(kTasksPrefix.size());
    if (rest.ends_with(kReloadSuffix) && rest.size() > kReloadSuffix.size() &&
        rest.substr(0, rest.size() - kReloadSuffix.size()).find('/') == std::string_view::npos) {
      return Endpoint::task_reload;
    }
    return rest.find('/') == std::string_view::npos ? Endpoint::task : Endpoint::unknown;
  }
  if (path == "/v1/embeddings") return Endpoint::embeddings;
  if (path == "/v1/models") return Endpoint::models;
  if (path == "/health") return Endpoint::health;
  if (path == "/metrics") return Endpoint::metrics;
  return Endpoint::unknown;
}

// The part of a /v1/tasks/... path after the prefix (the task's name, for Endpoint::task).
std::string_view task_name(std::string_view path) {
  return path.substr(kTasksPrefix.size());
}

const char* endpoint_label(Endpoint e) {
  switch (e) {
    case Endpoint::chat:
      return "/v1/chat/completions";
    case Endpoint::embeddings:
      return "/v1/embeddings";
    case Endpoint::models:
      return "/v1/models";
    case Endpoint::health:
      return "/health";
    case Endpoint::metrics:
      return "/metrics";
    case Endpoint::tasks:
      return "/v1/tasks";
    case Endpoint::task:
      return "/v1/tasks/{name}";
    case Endpoint::task_reload:
      return "/v1/tasks/{name}/reload";
    case Endpoint::unknown:
      return "other";
  }
  return "other";
}

http::Task<void> dispatch(WorkerContext& worker, Endpoint endpoint, http::Request& request,
                          http::Responder& responder) {
  GatewayState& state = worker.state;
  const char* method = endpoint == Endpoint::chat || endpoint == Endpoint::embeddings ||
                               endpoint == Endpoint::task || endpoint == Endpoint::task_reload
                           ? "POST"
                           : "GET";
  if (endpoint == Endpoint::unknown) {
    co_await responder.send(error_response(
        core::not_found("no endpoint " + std::string(request.path()), "unknown_endpoint")));
    co_return;
  }
  if (request.method != method) {
    auto r = error_response(
        core::ApiError{405, "invalid_request_error", "method_not_allowed",
                       std::string(endpoint_label(endpoint)) + " accepts " + method + " only", ""});
    r.headers.push_back({"Allow", method});
    co_await responder.send(std::move(r));
    co_return;
  }
  if (endpoint == Endpoint::health) {
    co_await responder.send(json_response(R"({"status":"ok"})"));
    co_return;
  }
  bool needs_auth = endpoint != Endpoint::metrics || state.config.server.metrics_require_auth;
  if (needs_auth && state.auth.enabled()) {
    if (!state.auth.authenticate(request.header("authorization"))) {
      auto r = error_response(
          core::unauthorized(request.header("authorization").empty()
                                 ? "missing API key: send 'Authorization: Bearer <key>'"
                                 : "invalid API key"));
      r.headers.push_back({"WWW-Authenticate", "Bearer"});
      co_await responder.send(std::move(r));
      co_return;
    }
  }
  switch (endpoint) {
    case Endpoint::chat:
      co_await serve_chat_completions(worker, request, responder);
      break;
    case Endpoint::embeddings:
      co_await serve_embeddings(worker, request, responder);
      break;
    case Endpoint::models:
      co_await responder.send(json_response(models_list(state)));
      break;
    case Endpoint::tasks:
      co_await serve_task_list(worker, responder);
      break;
    case Endpoint::task:
      co_await serve_task(worker, request, responder, task_name(request.path()));
      break;
    case Endpoint::task_reload: {
      std::string_view name = task_name(request.path());
      co_await serve_task_reload(worker, responder,
                                 name.substr(0, name.size() - kReloadSuffix.size()));
      break;
    }
    case Endpoint::metrics: {
      http::Response r;
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      state.refresh_local_metrics();
      if (state.task_pool) {
        state.metrics.task_queue_depth.with({}).set(
            static_cast<std::int64_t>(state.task_pool->queued()));
      }
      r.body = state.registry.render();
      co_await responder.send(std::move(r));
      break;
    }
    default:
      break;
  }
}

}  // namespace

Gateway::Gateway(config::Config config)
    : state_(std::make_shared<GatewayState>(std::move(config))) {
  if (!state_->auth.enabled()) {
    log::warn("auth_disabled",
              {{"reason", "no [[client_keys]] in the config: every request is accepted"}});
  }
}

Gateway::~Gateway() = default;

const config::Config& Gateway::config() const {
  return state_->config;
}

std::vector<std::string> Gateway::reload_tasks() {
  return state_->reload_tasks();
}

namespace {
// Each endpoint's common series, resolved once per thread: no lookups on the hot path.
struct EndpointSeries {
  metrics::Counter* ok = nullptr;  // status 200
  metrics::Histogram* duration = nullptr;
};
constexpr int kEndpoints = static_cast<int>(Endpoint::unknown) + 1;
}  // namespace

http::HandlerFactory Gateway::handler_factory() {
  std::shared_ptr<GatewayState> state = state_;
  return [state](asio::io_context& ioc, int) -> http::Handler {
    auto worker = std::make_shared<WorkerContext>(*state, ioc);
    auto series = std::make_shared<std::array<EndpointSeries, kEndpoints>>();
    for (int e = 0; e < kEndpoints; ++e) {
      const char* label = endpoint_label(static_cast<Endpoint>(e));
      (*series)[e].ok = &state->metrics.http_requests.with({label, "200"});
      (*series)[e].duration = &state->metrics.http_duration.with({label});
    }
    metrics::Gauge* inflight = &state->metrics.inflight.with({});
    return [worker, series, inflight](http::Request& request,
                                      http::Responder& responder) -> http::Task<void> {
      auto started = http::Clock::now();
      auto& metrics = worker->state.metrics;
      Endpoint endpoint = endpoint_of(request.path());
      std::string id(request.header("x-request-id").substr(0, 64));
      bool safe = !id.empty();
      for (char c : id)
        safe = safe && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
      if (!safe) id = request_id();
      ObservedResponder observed(responder, id);
      inflight->add(1);
      try {
        co_await dispatch(*worker, endpoint, request, observed);
      } catch (...) {
        inflight->add(-1);
        throw;
      }
      inflight->add(-1);
      double seconds = std::chrono::duration<double>(http::Clock::now() - started).count();
      const EndpointSeries& s = (*series)[static_cast<int>(endpoint)];
      int status = observed.status() == 0 ? 499 : observed.status();  // 499: client went away
      if (status == 200) {
        s.ok->inc();
      } else {
        metrics.http_requests.with({endpoint_label(endpoint), std::to_string(status)}).inc();
      }
      s.duration->observe(seconds);
      if (log::enabled(log::Level::debug)) {
        log::debug("request", {{"id", id},
                               {"method", request.method},
                               {"path", request.path()},
                               {"status", status},
                               {"ms", seconds * 1000}});
      }
    };
  };
}

}  // namespace tandem::api
