#include "tandem/api/variant_call.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json.hpp>
#include <cmath>
#include <map>

#include "tandem/api/model_call.h"
#include "tandem/http/waiter.h"
#include "tandem/ledger/charge.h"
#include "tandem/llm/chat_prompt.h"
#include "tandem/log/logger.h"

namespace tandem::api {

namespace json = boost::json;

namespace {

using Seconds = std::chrono::duration<double>;

// One pool job's state, shared by the waiting coroutine and the worker.
struct PoolJob {
  std::function<tasks::TaskAnswer()> work;
  std::string failure;
  std::function<void()> wake;
  http::Clock::time_point queued_at;
  // Written by the worker before `done`; read by the coroutine after it sees `done`.
  PoolOutcome outcome;
  std::atomic<bool> done{false};
  // Set by the coroutine when it stopped waiting: the worker skips work not yet started.
  std::atomic<bool> abandoned{false};
};

void run_job(PoolJob& job) {
  auto started = http::Clock::now();
  job.outcome.queue_seconds = Seconds(started - job.queued_at).count();
  if (!job.abandoned.load()) {
    try {
      job.outcome.answer = job.work();
    } catch (const tasks::TaskInputError& e) {
      job.outcome.error = core::invalid_request(e.what(), e.param(), e.code());
      job.outcome.outcome = "invalid_input";
      job.outcome.client_error = true;
    } catch (const std::exception& e) {
      job.outcome.error = core::internal_error(job.failure + ": " + e.what());
      job.outcome.outcome = "error";
    }
  }
  job.outcome.run_seconds = Seconds(http::Clock::now() - started).count();
  job.done.store(true);
  if (!job.abandoned.load()) job.wake();
}

core::ApiError overloaded(std::size_t limit) {
  return core::ApiError{
      503, "server_error", "overloaded",
      "the task queue is full (" + std::to_string(limit) + " jobs waiting); retry later", ""};
}

// ---- LLM variants ------------------------------------------------------------------------

// One chat call's result.
struct CallResult {
  bool ok = false;
  std::string content;
  json::value logprobs;  // choices[0].logprobs.content, or null
  core::Usage usage;
  std::int64_t cost_pico_usd = 0;
  std::string answered_by;
  std::optional<core::ApiError> error;
  bool cancelled = false;
};

// What one chat call sends: the OpenAI body (the route's own model name goes in per route), and
// for a labels task the bare-label format local routes get instead of the label object.
struct ChatCall {
  json::object body;
  // Null: every route gets the body's response_format. Points into the variant's prompt builder,
  // which outlives the call.
  const json::value* local_response_format = nullptr;
};

json::object chat_body(const config::VariantConfig& v, const std::vector<prompts::ChatMessage>& m,
                       const json::value& response_format, std::int64_t seed_offset) {
  json::object body;
  body["messages"] = prompts::messages_json(m);
  body["temperature"] = v.temperature;
  if (v.top_p < 1.0) body["top_p"] = v.top_p;
  body["max_tokens"] = v.max_tokens;
  if (v.seed >= 0) body["seed"] = v.seed + seed_offset;
  if (!response_format.is_null()) body["response_format"] = response_format;
  if (v.confidence == "logprobs") body["logprobs"] = true;
  return body;
}

std::string body_for_route(const ChatCall& call, const RouteState& route, const std::string& lora) {
  json::object body = call.body;
  body["model"] = route.route.model;
  if (route.local_provider != nullptr && call.local_response_format != nullptr) {
    body["response_format"] = *call.local_response_format;
  }
  // LoRA adapters exist on local models only; a remote fallback gets the plain request.
  if (!lora.empty() && route.local_provider != nullptr) body["lora"] = lora;
  return json::serialize(body);
}

// Reads choices[0].message.content and its logprobs; false when the answer has none. (Usage and
// a replayed answer's recorded cost were read by read_json_answer, as for the chat API.)
bool read_reply(std::string_view body, std::string& content, json::value& logprobs) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return false;
  const json::object& o = v.get_object();
  const json::value* choices = o.if_contains("choices");
  if (choices == nullptr || !choices->is_array() || choices->get_array().empty()) return false;
  const json::object* choice = choices->get_array()[0].if_object();
  if (choice == nullptr) return false;
  const json::value* message = choice->if_contains("message");
  const json::value* text =
      message && message->is_object() ? message->get_object().if_contains("content") : nullptr;
  if (text == nullptr || !text->is_string()) return false;
  content = std::string(text->get_string());
  logprobs = nullptr;
  if (const json::value* lp = choice->if_contains("logprobs"); lp && lp->is_object()) {
    if (const json::value* c = lp->get_object().if_contains("content"); c && c->is_array()) {
      logprobs = *c;
    }
  }
  return true;
}

http::Task<CallResult> call_model(WorkerContext& worker, const ModelEntry& model,
                                  const config::VariantConfig& v, const ChatCall& call,
                                  http::CancelSignal* cancel) {
  CallResult result;
  std::string body;
  core::Usage usage;
  auto started = http::Clock::now();
  BodyFn body_for = [&](const RouteState& route) { return body_for_route(call, route, v.lora); };
  AcceptFn accept = [&](const RouteState&, http::UpstreamResponse& response,
                        http::Clock::time_point deadline) {
    return read_json_answer(response, deadline, true, body, usage);
  };
  ChainResult chain = co_await worker.runner.run(model.config->name, model.routes,
                                                 "/chat/completions", body_for, accept, cancel);
  if (chain.cancelled) {
    result.cancelled = true;
    co_return result;
  }
  if (chain.route == nullptr) {
    result.error = chain.error(model.config->name);
    if (!chain.client_error) worker.state.metrics.route_failures.with({model.config->name}).inc();
    co_return result;
  }
  if (!read_reply(body, result.content, result.logprobs)) {
    result.error =
        core::bad_gateway("model '" + model.config->name + "' answered without a message content");
    co_return result;
  }
  ledger::Charge charge = ledger::charge(usage, chain.route->route.price);
  record_model_call(worker.state, model.config->name, chain, charge, started);
  result.ok = true;
  result.usage = usage;
  result.cost_pico_usd = charge.cost_pico_usd;
  result.answered_by = chain.route->route.label;
  co_return result;
}

void add_usage(VariantResult& r, const CallResult& c) {
  ++r.calls;
  r.cost_pico_usd += c.cost_pico_usd;
  if (c.usage.known) {
    r.usage.known = true;
    r.usage.prompt_tokens += c.usage.prompt_tokens;
    r.usage.completion_tokens += c.usage.completion_tokens;
    r.usage.total_tokens += c.usage.total_tokens;
    r.usage.compute_us += c.usage.compute_us;
  }
  if (!c.answered_by.empty()) r.answered_by = c.answered_by;
}

// Notes accumulate: a retry, missing logprobs, dropped examples and retrieval may all apply.
void add_note(VariantResult& r, const std::string& note) {
  r.note += (r.note.empty() ? "" : "; ") + note;
}

// The input's embedding for example retrieval: its tokens are prompt tokens of this variant.
void add_embedding(VariantResult& r, const prompts::EmbeddingSpend& e) {
  r.cost_pico_usd += e.cost_pico_usd;
  if (e.usage.known) {
    r.usage.known = true;
    r.usage.prompt_tokens += e.usage.prompt_tokens;
    r.usage.total_tokens += e.usage.total_tokens;
  }
  std::string note = "examples retrieved by embeddings from " + e.route;
  if (e.usage.known) note += " (" + std::to_string(e.usage.prompt_tokens) + " tokens)";
  add_note(r, note);
}

// The budget counts a local model's tokens exactly (its chat template, then its tokenizer, as the
// local provider will); a remote model's are estimated.
prompts::TokenCounter token_counter(const ModelEntry& model, const config::VariantConfig& v) {
  if (v.max_prompt_tokens <= 0 || model.routes.empty()) return {};
  const RouteState& first = *model.routes.front();
  if (first.local_provider == nullptr) return {};
  const llm::Engine* engine = first.local_provider->engine(first.route.model);
  if (engine == nullptr) return {};
  return [engine](std::span<const prompts::ChatMessage> messages) -> std::size_t {
    llm::ChatInputs inputs;
    inputs.messages_json = json::serialize(prompts::messages_json(messages));
    try {
      return llm::count_chat_tokens(engine->vocab(), engine->chat_templates(), inputs);
    } catch (const std::exception&) {
      return prompts::estimate_tokens(messages);  // the provider will say what is wrong
    }
  };
}

// One answer of the contract: a call, checked, retried once with the validation error.
struct Answer {
  bool ok = false;
  json::object output;
  std::optional<double> confidence;
  std::optional<core::ApiError> error;
  bool cancelled = false;
  bool retried = false;
};

http::Task<Answer> one_answer(WorkerContext& worker, const ModelEntry& model,
                              const tasks::LoadedVariant& variant,
                              const prompts::PromptRequest& request, std::int64_t seed_offset,
                              http::CancelSignal* cancel, VariantResult& result) {
  Answer answer;
  const config::VariantConfig& v = *variant.config;
  std::vector<prompts::ChatMessage> messages = request.messages;
  const json::value* local_format = nullptr;
  if (!request.response_format.is_null() && !variant.prompt->local_response_format().is_null()) {
    local_format = &variant.prompt->local_response_format();
  }
  CallResult call;
  prompts::AnswerCheck check;
  // Twice at most: an invalid reply is retried once, with the reason (models often fix a reply
  // when told what was wrong).
  for (int attempt = 0; attempt < 2; ++attempt) {
    ChatCall chat{chat_body(v, messages, request.response_format, seed_offset), local_format};
    call = co_await call_model(worker, model, v, chat, cancel);
    if (call.cancelled) {
      answer.cancelled = true;
      co_return answer;
    }
    if (!call.ok) {
      answer.error = call.error;
      co_return answer;
    }
    add_usage(result, call);
    check = variant.prompt->parse_answer(call.content);
    if (check.output) break;
    answer.retried = true;
    messages = prompts::retry_messages(request.messages, call.content, check);
  }
  if (!check.output) {
    // The reply's start, JSON-quoted: it says more about what went wrong than any description.
    std::string start = call.content.substr(0, 120);
    answer.error =
        core::bad_gateway("variant '" + variant.name +
                          "': the model's reply broke the task's contract twice: " + check.error +
                          " (the reply began " + json::serialize(json::string(start)) + ")");
    co_return answer;
  }
  answer.ok = true;
  answer.output = std::move(*check.output);
  if (v.confidence == "logprobs") {
    const json::value* label = answer.output.if_contains("label");
    std::string label_text = label && label->is_string() ? std::string(label->get_string()) : "";
    answer.confidence =
        confidence_from_logprobs(call.logprobs.is_array() ? &call.logprobs : nullptr, call.content,
                                 label ? &label_text : nullptr);
  }
  co_return answer;
}

// Agreement: the answer most samples gave, and the share that gave it.
void vote(const std::vector<Answer>& answers, Answer& out) {
  std::map<std::string, std::pair<int, std::size_t>> counts;  // canonical answer -> (n, first)
  for (std::size_t i = 0; i < answers.size(); ++i) {
    if (!answers[i].ok) continue;
    const json::value* label = answers[i].output.if_contains("label");
    std::string key = label ? json::serialize(*label) : json::serialize(answers[i].output);
    auto [it, fresh] = counts.try_emplace(key, 0, i);
    ++it->second.first;
  }
  if (counts.empty()) return;  // no sample answered
  auto best = counts.begin();
  for (auto it = counts.begin(); it != counts.end(); ++it) {
    if (it->second.first > best->second.first) best = it;
  }
  out.ok = true;
  out.output = answers[best->second.second].output;
  // Over every sample asked for: a failed sample is not a vote for the winner.
  out.confidence = static_cast<double>(best->second.first) / static_cast<double>(answers.size());
}

// One sample of an agreement vote, spawned beside the others; the last one to finish wakes the
// variant's coroutine.
http::Task<void> one_sample(WorkerContext& worker, const ModelEntry& model,
                            const tasks::LoadedVariant& variant,
                            const prompts::PromptRequest& request, std::int64_t seed_offset,
                            http::CancelSignal* cancel, VariantResult& result, Answer& out,
                            std::shared_ptr<int> remaining, std::function<void()> wake) {
  out = co_await one_answer(worker, model, variant, request, seed_offset, cancel, result);
  if (--*remaining == 0) wake();
}

http::Task<VariantResult> run_llm(WorkerContext& worker, const tasks::LoadedVariant& variant,
                                  const tasks::TextInput& input, http::CancelSignal* cancel) {
  VariantResult result;
  const config::VariantConfig& v = *variant.config;
  const ModelEntry* model = worker.state.find_model(v.model);
  if (model == nullptr) {  // config validation makes this unreachable; a clear error anyway
    result.error = core::internal_error("variant '" + variant.name + "': no model " + v.model);
    co_return result;
  }
  prompts::PromptRequest request;
  if (v.retrieve_examples > 0 && v.embedder != "glove") {
    // Retrieval embeds the input with a model, in process or through an embeddings API, which
    // may take a while: on the worker pool, never on this network thread.
    struct Built {
      prompts::PromptRequest request;
      std::string embedder_failure;  // the embedder's provider failed: not the input's fault
    };
    auto built = std::make_shared<Built>();
    std::function<tasks::TaskAnswer()> work = [prompt = variant.prompt, fields = input.fields,
                                               counter = token_counter(*model, v), built] {
      try {
        built->request = prompt->build(fields, counter);
      } catch (const prompts::EmbedderError& e) {
        built->embedder_failure = e.what();
      } catch (const prompts::PromptError& e) {
        throw tasks::TaskInputError(e.what(), "input");
      }
      return tasks::TaskAnswer{};
    };
    std::string failure = "variant '" + variant.name + "': building the prompt failed";
    http::Clock::time_point deadline = http::Clock::now() + worker.state.config.server.task_timeout;
    PoolOutcome pool =
        co_await run_on_pool(worker, std::move(work), std::move(failure), deadline, cancel);
    if (pool.error) {
      result.error = pool.error;
      result.client_error = pool.client_error;
      co_return result;
    }
    if (!built->embedder_failure.empty()) {
      // An upstream failure like the chat model's own: the task's fallbacks run.
      result.error =
          core::bad_gateway("variant '" + variant.name + "': " + built->embedder_failure);
      co_return result;
    }
    request = std::move(built->request);
    // The embedding call is part of what this variant cost: its tokens and money count in the
    // variant's usage (and so in the task's response, record, cost header and metric).
    if (const prompts::EmbeddingSpend& e = request.embedding; e.calls > 0) {
      add_embedding(result, e);
    }
  } else {
    try {
      request = variant.prompt->build(input.fields, token_counter(*model, v));
    } catch (const prompts::PromptError& e) {
      result.error = core::invalid_request(std::string(e.what()), "input", "invalid_input");
      result.client_error = true;
      co_return result;
    }
  }
  Answer final_answer;
  int samples = v.confidence == "agreement" ? v.samples : 1;
  if (samples == 1) {
    final_answer = co_await one_answer(worker, *model, variant, request, 0, cancel, result);
  } else {
    // The samples run at once: a local model decodes them in one batch, a remote one in
    // parallel requests.
    std::vector<Answer> answers(static_cast<std::size_t>(samples));
    auto waiter = std::make_shared<http::Waiter>(co_await asio::this_coro::executor);
    auto remaining = std::make_shared<int>(samples);
    auto wake = waiter->waker();
    for (int i = 0; i < samples; ++i) {
      // A plain coroutine function, not a lambda: its parameters live in its own frame (GCC 12
      // mishandles the captures of coroutine lambdas handed to co_spawn).
      asio::co_spawn(co_await asio::this_coro::executor,
                     one_sample(worker, *model, variant, request, i, cancel, result,
                                answers[static_cast<std::size_t>(i)], remaining, wake),
                     asio::detached);
    }
    // Every sample finishes (each call has its own deadline, and cancellation reaches them), so
    // the frame they write into outlives them.
    while (*remaining > 0) co_await waiter->wait(http::Clock::time_point::max());
    for (const auto& a : answers) {
      final_answer.cancelled = final_answer.cancelled || a.cancelled;
      final_answer.retried = final_answer.retried || a.retried;
      if (!a.ok && a.error && !final_answer.error) final_answer.error = a.error;
    }
    if (!final_answer.cancelled) vote(answers, final_answer);
  }
  if (final_answer.cancelled) {
    result.error = core::gateway_timeout("variant '" + variant.name + "' was cut off");
    co_return result;
  }
  if (!final_answer.ok) {
    result.error = final_answer.error;
    co_return result;
  }
  result.examples = request.examples;
  result.ok = true;
  result.output = std::move(final_answer.output);
  result.confidence = final_answer.confidence;
  if (final_answer.retried) add_note(result, "retried once after a reply that broke the contract");
  if (v.confidence == "logprobs" && !result.confidence) {
    add_note(result, "the provider gave no token probabilities: no confidence");
  }
  if (request.examples_dropped > 0) {
    add_note(result, std::to_string(request.examples_dropped) +
                         " few-shot examples dropped to fit max_prompt_tokens");
  }
  co_return result;
}

}  // namespace

std::optional<double> confidence_from_logprobs(const json::value* content_tokens,
                                               std::string_view content, const std::string* label) {
  if (content_tokens == nullptr || !content_tokens->is_array()) return std::nullopt;
  // Token spans in the text the tokens spell (the message content, normally).
  std::string spelled;
  std::vector<std::pair<std::size_t, double>> tokens;  // (end offset, logprob)
  for (const auto& t : content_tokens->get_array()) {
    const json::object* o = t.if_object();
    const json::value* text = o ? o->if_contains("token") : nullptr;
    const json::value* lp = o ? o->if_contains("logprob") : nullptr;
    if (text == nullptr || !text->is_string() || lp == nullptr || !lp->is_number()) {
      return std::nullopt;
    }
    spelled += text->get_string();
    tokens.emplace_back(spelled.size(), lp->to_number<double>());
  }
  if (tokens.empty()) return std::nullopt;
  std::string_view haystack = spelled.empty() ? content : std::string_view(spelled);
  if (label == nullptr) {
    double sum = 0;
    for (const auto& [end, lp] : tokens) sum += lp;
    return std::exp(sum / static_cast<double>(tokens.size()));
  }
  // The label's characters: quoted inside JSON, else bare.
  std::size_t start = haystack.rfind("\"" + *label + "\"");
  if (start != std::string_view::npos) {
    start += 1;
  } else {
    start = haystack.find(*label);
    if (start == std::string_view::npos) return std::nullopt;
  }
  std::size_t end = start + label->size();
  double sum = 0;
  std::size_t begin = 0;
  for (const auto& [token_end, lp] : tokens) {
    if (token_end > start && begin < end) sum += lp;  // the token overlaps the label
    begin = token_end;
  }
  return std::exp(sum);
}

http::Task<PoolOutcome> run_on_pool(WorkerContext& worker, std::function<tasks::TaskAnswer()> work,
                                    std::string failure, http::Clock::time_point deadline,
                                    http::CancelSignal* cancel) {
  auto job = std::make_shared<PoolJob>();
  job->work = std::move(work);
  job->failure = std::move(failure);
  auto waiter = std::make_shared<http::Waiter>(co_await asio::this_coro::executor);
  job->wake = waiter->waker();
  job->queued_at = http::Clock::now();
  if (!worker.state.task_pool->submit([job] { run_job(*job); })) {
    PoolOutcome rejected;
    rejected.error = overloaded(worker.state.task_pool->queue_limit());
    rejected.outcome = "rejected";
    co_return rejected;
  }
  http::CancelHook hook(cancel, [waiter] { waiter->interrupt(); });
  while (!job->done.load()) {
    bool in_time = co_await waiter->wait(deadline);
    if (job->done.load()) break;
    if (!in_time || http::is_cancelled(cancel)) {
      job->abandoned.store(true);
      PoolOutcome late;
      late.error = core::gateway_timeout(
          "the task did not finish within " +
          std::to_string(worker.state.config.server.task_timeout.count()) + " ms");
      late.outcome = "timeout";
      co_return late;
    }
  }
  co_return std::move(job->outcome);
}

http::Task<VariantResult> run_variant(WorkerContext& worker, const tasks::LoadedVariant& variant,
                                      std::shared_ptr<const tasks::TaskInput> input,
                                      http::Clock::time_point deadline,
                                      http::CancelSignal* cancel) {
  auto started = http::Clock::now();
  VariantResult result;
  if (variant.kind == "tailored") {
    // Named, not temporaries: GCC 12 mishandles temporaries inside a co_await expression.
    std::function<tasks::TaskAnswer()> work = [model = variant.model, input] {
      return model->run(*input);
    };
    std::string failure = "variant '" + variant.name + "' failed";
    PoolOutcome pool =
        co_await run_on_pool(worker, std::move(work), std::move(failure), deadline, cancel);
    result.ok = !pool.error;
    result.error = pool.error;
    result.client_error = pool.client_error;
    result.output = std::move(pool.answer.output);
    result.confidence = pool.answer.confidence;
    result.queue_seconds = pool.queue_seconds;
    result.model = variant.model;
  } else {
    const auto* text = std::get_if<tasks::TextInput>(input.get());
    if (text == nullptr) {
      result.error = core::internal_error("llm variants take text input");
    } else {
      result = co_await run_llm(worker, variant, *text, cancel);
    }
  }
  result.variant = variant.name;
  result.kind = variant.kind;
  result.seconds = Seconds(http::Clock::now() - started).count();
  co_return result;
}

}  // namespace tandem::api
