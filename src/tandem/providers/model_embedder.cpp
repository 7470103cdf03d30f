#include "tandem/providers/model_embedder.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <exception>
#include <optional>
#include <variant>

#include "tandem/core/json_util.h"
#include "tandem/http/client.h"
#include "tandem/ledger/charge.h"
#include "tandem/providers/openai_answer.h"
#include "tandem/routing/failure.h"

namespace tandem::providers {

namespace json = boost::json;
using prompts::EmbedderError;
using routing::FailureKind;
using Seconds = std::chrono::duration<double>;

namespace {

// 64 inputs of a few hundred dimensions each as JSON text: a few MB at most.
constexpr std::size_t kMaxAnswerBytes = 64 << 20;

// One exchange with a remote route, as the synchronous caller sees it.
struct Exchange {
  http::ClientError error;  // transport failure; status and body are then unset
  int status = 0;
  std::string retry_after;
  std::string body;
};

// A plain coroutine function, not a lambda: its parameters live in its own frame (GCC 12
// mishandles the captures of coroutine lambdas handed to co_spawn).
http::Task<void> exchange(http::HttpClient& client, const OpenAiProvider& provider,
                          const http::OutgoingRequest& request, http::Clock::time_point deadline,
                          Exchange& out) {
  http::HttpClient::Result sent = co_await client.send(
      provider.endpoint(), request, provider.config().connect_timeout, deadline, nullptr);
  if (sent.error) {
    out.error = std::move(sent.error);
    co_return;
  }
  out.status = sent.response->status();
  out.retry_after = std::string(http::find_header(sent.response->headers(), "retry-after"));
  out.error = co_await sent.response->read_all(out.body, kMaxAnswerBytes, deadline);
}

// Runs one exchange to its end on this thread. The io_context and client are the thread's own
// and outlive the call, so a worker reuses its keep-alive connections (and TLS sessions) from
// one request to the next; no other thread ever touches them.
Exchange post(const OpenAiProvider& provider, const http::OutgoingRequest& request,
              http::Clock::time_point deadline) {
  thread_local boost::asio::io_context ioc;
  thread_local http::HttpClient client(ioc);
  Exchange out;
  bool done = false;
  std::exception_ptr thrown;
  boost::asio::co_spawn(ioc, exchange(client, provider, request, deadline, out),
                        [&](std::exception_ptr e) {
                          thrown = e;
                          done = true;
                        });
  // run_one, not run: pooled connections keep the deadline sweep's timer armed, so run() would
  // not return while one is idle in the pool.
  while (!done) {
    if (ioc.stopped()) ioc.restart();
    ioc.run_one();
  }
  if (thrown) std::rethrow_exception(thrown);
  return out;
}

routing::FailureKind kind_of(const http::ClientError& e) {
  switch (e.kind) {
    case http::ClientErrorKind::connect:
      return FailureKind::connect;
    case http::ClientErrorKind::timeout:
      return FailureKind::timeout;
    case http::ClientErrorKind::tls:
      return FailureKind::tls;
    case http::ClientErrorKind::protocol:
    case http::ClientErrorKind::too_large:
      return FailureKind::protocol;
    default:
      return FailureKind::reset;
  }
}

// The vectors of an OpenAI embeddings answer ({"data": [{"index": i, "embedding": [...]}]}), in
// input order; an error message when it is not one for `count` inputs.
std::variant<std::vector<std::vector<float>>, std::string> read_vectors(std::string_view body,
                                                                        std::size_t count) {
  auto parsed = core::parse_json(body);
  if (auto* err = std::get_if<core::JsonParseError>(&parsed)) {
    return "the answer is not JSON: " + err->message;
  }
  const json::value& v = std::get<json::value>(parsed);
  const json::object* o = v.if_object();
  const json::value* data = o ? core::find_member(*o, "data") : nullptr;
  if (data == nullptr || !data->is_array()) return std::string("the answer has no data array");
  const json::array& items = data->get_array();
  if (items.size() != count) {
    return "the answer has " + std::to_string(items.size()) + " embeddings for " +
           std::to_string(count) + " inputs";
  }
  std::vector<std::vector<float>> out(count);
  std::vector<bool> seen(count, false);
  for (std::size_t i = 0; i < items.size(); ++i) {
    const json::object* item = items[i].if_object();
    const json::value* index = item ? core::find_member(*item, "index") : nullptr;
    const json::value* embedding = item ? core::find_member(*item, "embedding") : nullptr;
    // An answer without indexes is taken in order.
    std::size_t at = i;
    if (index != nullptr) {
      if (!index->is_int64() || index->get_int64() < 0 ||
          static_cast<std::size_t>(index->get_int64()) >= count ||
          seen[static_cast<std::size_t>(index->get_int64())]) {
        return "embedding " + std::to_string(i) + " has a bad or repeated index";
      }
      at = static_cast<std::size_t>(index->get_int64());
    }
    if (embedding == nullptr || !embedding->is_array() || embedding->get_array().empty()) {
      return "embedding " + std::to_string(i) + " is not a non-empty array of numbers";
    }
    seen[at] = true;
    std::vector<float>& vector = out[at];
    vector.reserve(embedding->get_array().size());
    for (const json::value& x : embedding->get_array()) {
      if (!x.is_number()) {
        return "embedding " + std::to_string(i) + " is not a non-empty array of numbers";
      }
      vector.push_back(static_cast<float>(x.to_number<double>()));
    }
  }
  return out;
}

// An upstream's error message could quote the key it was sent (some echo part of it): never let
// it reach a log or a response.
std::string without_key(std::string text, const std::string& key) {
  if (key.size() < 4) return text;
  for (std::size_t at = text.find(key); at != std::string::npos; at = text.find(key, at)) {
    text.replace(at, key.size(), "<api key>");
  }
  return text;
}

}  // namespace

ModelEmbedder::ModelEmbedder(std::string model, std::vector<EmbedderRoute> routes,
                             Observer observer, std::chrono::milliseconds max_wait)
    : model_(std::move(model)),
      routes_(std::move(routes)),
      observer_(std::move(observer)),
      max_wait_(max_wait) {}

std::vector<float> ModelEmbedder::embed(std::string_view text) const {
  const std::string one(text);
  return std::move(embed_batch(std::span(&one, 1), nullptr).front());
}

std::vector<std::vector<float>> ModelEmbedder::embed_batch(std::span<const std::string> texts,
                                                           prompts::EmbeddingSpend* spend) const {
  std::vector<std::vector<float>> out;
  out.reserve(texts.size());
  for (std::size_t at = 0; at < texts.size(); at += kBatch) {
    auto vectors = embed_chunk(texts.subspan(at, std::min(kBatch, texts.size() - at)), spend);
    for (auto& v : vectors) out.push_back(std::move(v));
  }
  return out;
}

std::vector<std::vector<float>> ModelEmbedder::embed_chunk(std::span<const std::string> texts,
                                                           prompts::EmbeddingSpend* spend) const {
  const std::string what = "embedder '" + model_ + "'";
  if (routes_.empty()) throw EmbedderError(what + ": the model has no route that can embed");
  std::string failures;
  for (std::size_t r = 0; r < routes_.size(); ++r) {
    const EmbedderRoute& route = routes_[r];
    EmbedderAttempt attempt;
    attempt.route = r;
    auto started = http::Clock::now();
    auto report = [&](std::string outcome) {
      attempt.outcome = std::move(outcome);
      attempt.seconds = Seconds(http::Clock::now() - started).count();
      if (observer_) observer_(attempt);
    };
    if (!route.local && !route.http) continue;
    auto admission = routing::CircuitBreaker::Admission::allowed;
    if (route.breaker != nullptr) admission = route.breaker->admit(started);
    // The breaker learns each outcome before the observer runs, so the gauge it sets is current.
    auto succeeded = [&] {
      if (route.breaker != nullptr) route.breaker->record_success(admission);
      report("ok");
    };
    // Outcomes reach the breaker as the gateway's route runner reports them.
    auto breaker_learns = [&](FailureKind kind) {
      if (route.breaker != nullptr)
        route.breaker->record_failure(http::Clock::now(), admission, kind);
    };
    auto failed = [&](FailureKind kind, const std::string& detail) {
      if (kind != FailureKind::circuit_open) breaker_learns(kind);
      report(routing::to_string(kind));
      failures += (failures.empty() ? "" : "; ") + route.label + ": " + routing::to_string(kind) +
                  " (" + detail + ")";
    };
    if (admission == routing::CircuitBreaker::Admission::denied) {
      failed(FailureKind::circuit_open, "circuit breaker open");
      continue;
    }

    if (route.local) {
      try {
        std::vector<std::vector<float>> vectors = route.local->embed_batch(texts, nullptr);
        succeeded();
        return vectors;
      } catch (const EmbedderError& e) {
        failed(FailureKind::server_error, e.what());
        continue;
      } catch (...) {
        // Any other PromptError is the input's: the next route would refuse it too.
        breaker_learns(FailureKind::client_error);
        throw;
      }
    }

    const config::ProviderConfig& pc = route.http->config();
    json::array inputs;
    for (const auto& t : texts) inputs.emplace_back(t);
    json::object body{{"input", std::move(inputs)}};
    http::OutgoingRequest request = route.http->build_request(
        "/embeddings", OpenAiProvider::embeddings_body(body, route.upstream_model));
    auto deadline = started + std::min(pc.request_timeout, max_wait_);
    Exchange answer;
    try {
      answer = post(*route.http, request, deadline);
    } catch (const std::exception& e) {  // not expected: the client reports failures as values
      failed(FailureKind::protocol, without_key(e.what(), pc.api_key));
      continue;
    }
    if (answer.error) {
      failed(kind_of(answer.error), without_key(answer.error.message, pc.api_key));
      continue;
    }
    if (answer.status < 200 || answer.status >= 300) {
      routing::Failure f =
          routing::classify_http_failure(answer.status, answer.body, answer.retry_after);
      std::string detail = without_key(f.detail, pc.api_key);
      if (!routing::falls_back(f.kind)) {
        // The request itself was refused (a 400): no other route would take it either.
        breaker_learns(f.kind);
        report(routing::to_string(f.kind));
        throw EmbedderError(what + ": " + route.label + " rejected the request: " + detail);
      }
      failed(f.kind, detail);
      continue;
    }
    auto vectors = read_vectors(answer.body, texts.size());
    if (auto* problem = std::get_if<std::string>(&vectors)) {
      failed(FailureKind::protocol, *problem);
      continue;
    }
    // Usage as the chat API reads it; an answer without it costs nothing and is counted missing.
    core::Usage usage;
    if (auto scan = scan_answer(answer.body)) usage = scan->usage;
    ledger::Charge charge = ledger::charge(usage, route.price);
    attempt.usage = usage;
    attempt.cost_pico_usd = charge.cost_pico_usd;
    succeeded();
    if (spend != nullptr) {
      prompts::EmbeddingSpend call;
      call.usage = usage;
      call.cost_pico_usd = charge.cost_pico_usd;
      call.calls = 1;
      call.route = route.label;
      spend->add(call);
    }
    return std::move(std::get<std::vector<std::vector<float>>>(vectors));
  }
  throw EmbedderError(what + ": all " + std::to_string(routes_.size()) +
                      " route(s) failed: " + failures);
}

std::vector<EmbedderRoute> embedder_routes(
    const config::Config& config, const config::ModelConfig& model,
    const std::function<std::shared_ptr<const prompts::SentenceEmbedder>(
        const config::RouteConfig&)>& local_route) {
  std::vector<EmbedderRoute> out;
  for (std::size_t i = 0; i < model.routes.size(); ++i) {
    const config::RouteConfig& r = model.routes[i];
    if (r.provider_index >= config.providers.size()) continue;
    const config::ProviderConfig& p = config.providers[r.provider_index];
    EmbedderRoute route;
    route.config_route = i;
    route.label = r.label;
    route.upstream_model = r.model;
    route.price = r.price;
    if (p.kind == "local") {
      if (local_route) route.local = local_route(r);
      if (!route.local) continue;
    } else if (p.kind == "replay") {
      continue;
    } else {
      route.http = std::make_shared<const OpenAiProvider>(p);
    }
    out.push_back(std::move(route));
  }
  return out;
}

}  // namespace tandem::providers
