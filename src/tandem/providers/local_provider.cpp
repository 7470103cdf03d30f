#include "tandem/providers/local_provider.h"

#include <common.h>

#include <boost/asio/this_coro.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <random>

#include "tandem/core/json_util.h"
#include "tandem/providers/local_response.h"

namespace tandem::providers {

namespace json = boost::json;

namespace {

std::string completion_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "chatcmpl-local-";
  std::uint64_t v = rng();
  for (int i = 0; i < 16; ++i) id += kHex[(v >> (i * 4)) & 15];
  return id;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

core::ApiError bad(std::string message, std::string param) {
  return core::invalid_request(std::move(message), std::move(param));
}

// A number member within [lo, hi], or the error to answer.
std::optional<core::ApiError> read_number(const json::object& body, std::string_view key, double lo,
                                          double hi, float& out) {
  const json::value* v = core::find_member(body, key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_number()) return bad(std::string(key) + " must be a number", std::string(key));
  double d = v->to_number<double>();
  if (!(d >= lo && d <= hi)) {
    return bad(
        std::string(key) + " must be between " + std::to_string(lo) + " and " + std::to_string(hi),
        std::string(key));
  }
  out = static_cast<float>(d);
  return std::nullopt;
}

std::optional<core::ApiError> read_bool(const json::object& body, std::string_view key, bool& out) {
  const json::value* v = core::find_member(body, key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_bool()) return bad(std::string(key) + " must be a boolean", std::string(key));
  out = v->get_bool();
  return std::nullopt;
}

std::optional<core::ApiError> read_int(const json::object& body, std::string_view key,
                                       std::int64_t lo, std::int64_t hi, std::int64_t& out) {
  const json::value* v = core::find_member(body, key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_int64() && !v->is_uint64()) {
    return bad(std::string(key) + " must be an integer", std::string(key));
  }
  std::int64_t n = v->is_int64() ? v->get_int64() : static_cast<std::int64_t>(v->get_uint64());
  if (v->is_uint64() && v->get_uint64() > static_cast<std::uint64_t>(INT64_MAX)) n = INT64_MAX;
  if (n < lo || n > hi) {
    return bad(
        std::string(key) + " must be between " + std::to_string(lo) + " and " + std::to_string(hi),
        std::string(key));
  }
  out = n;
  return std::nullopt;
}

// A reasoning model's controls, as llama-server reads them: `reasoning_format` ("none" leaves the
// thinking in the content), `chat_template_kwargs` (the template's own variables, among them
// `enable_thinking`), `reasoning_budget_tokens` with `reasoning_budget_message`, and OpenAI's
// `reasoning_effort` ("none" turns thinking off; another level goes to the template, which
// gpt-oss's reads).
std::optional<core::ApiError> read_reasoning(const json::object& body, llm::ChatInputs& inputs) {
  if (const json::value* f = core::find_member(body, "reasoning_format"); f && !f->is_null()) {
    std::string_view v = f->is_string() ? std::string_view(f->get_string()) : "";
    if (v == "none") {
      inputs.extract_reasoning = false;
    } else if (v != "auto" && v != "deepseek") {
      return bad("reasoning_format must be none, auto or deepseek", "reasoning_format");
    }
  }
  if (const json::value* k = core::find_member(body, "chat_template_kwargs"); k && !k->is_null()) {
    if (!k->is_object())
      return bad("chat_template_kwargs must be an object", "chat_template_kwargs");
    for (const auto& [name, value] : k->get_object()) {
      // The request sets these itself; a kwarg would render a prompt other than the request's.
      for (const char* own : {"messages", "tools", "tool_choice", "add_generation_prompt",
                              "bos_token", "eos_token", "continue_final_message"}) {
        if (name == own) {
          return bad("chat_template_kwargs." + std::string(name) +
                         " is set by the request itself, not by a template argument",
                     "chat_template_kwargs." + std::string(name));
        }
      }
      inputs.template_kwargs[std::string(name)] = json::serialize(value);
    }
    if (const json::value* t = core::find_member(k->get_object(), "enable_thinking");
        t && !t->is_null()) {
      if (!t->is_bool()) {
        return bad("chat_template_kwargs.enable_thinking must be a boolean",
                   "chat_template_kwargs.enable_thinking");
      }
      inputs.enable_thinking = t->get_bool();
    }
  }
  // llama-server's names; thinking_budget_tokens is its alias.
  for (const char* key : {"thinking_budget_tokens", "reasoning_budget_tokens"}) {
    std::int64_t budget = -1;
    if (auto e = read_int(body, key, -1, 1 << 30, budget)) return *e;
    if (core::find_member(body, key) != nullptr && !body.at(key).is_null()) {
      inputs.reasoning_budget = static_cast<int>(budget);
    }
  }
  if (const json::value* m = core::find_member(body, "reasoning_budget_message");
      m && !m->is_null()) {
    if (!m->is_string()) {
      return bad("reasoning_budget_message must be a string", "reasoning_budget_message");
    }
    inputs.reasoning_budget_message = std::string(m->get_string());
  }
  if (const json::value* e = core::find_member(body, "reasoning_effort"); e && !e->is_null()) {
    std::string_view v = e->is_string() ? std::string_view(e->get_string()) : "";
    if (v == "none") {
      inputs.enable_thinking = false;
      inputs.template_kwargs.erase("reasoning_effort");
    } else if (v == "minimal" || v == "low" || v == "medium" || v == "high" || v == "xhigh") {
      inputs.template_kwargs["reasoning_effort"] = json::serialize(json::string(v));
    } else {
      return bad("reasoning_effort must be none, minimal, low, medium, high or xhigh",
                 "reasoning_effort");
    }
  }
  return std::nullopt;
}

// Everything a chat request asks of the local model, checked.
struct ChatPlan {
  llm::ChatInputs inputs;
  bool stream = false;
  int max_tokens = -1;
  std::vector<std::string> stop;
  std::string lora;
  bool logprobs = false;
  int top_logprobs = 0;
  bool ignore_eos = false;
  std::shared_ptr<common_params_sampling> sampling = std::make_shared<common_params_sampling>();
};

std::variant<ChatPlan, core::ApiError> plan_chat(const json::object& body,
                                                 const config::RouteConfig& route) {
  ChatPlan plan;
  const json::value* messages = core::find_member(body, "messages");
  if (messages == nullptr || !messages->is_array() || messages->get_array().empty()) {
    return bad("messages must be a non-empty array", "messages");
  }
  plan.inputs.messages_json = json::serialize(*messages);
  if (const json::value* s = core::find_member(body, "stream"); s && s->is_bool()) {
    plan.stream = s->get_bool();
  }
  std::int64_t n = 1;
  if (auto e = read_int(body, "n", 1, 1, n)) {
    return bad("local models generate one choice per request (n = 1)", "n");
  }
  std::int64_t max_tokens = -1;
  for (const char* key : {"max_tokens", "max_completion_tokens"}) {
    if (auto e = read_int(body, key, 1, 1 << 30, max_tokens)) return *e;
  }
  plan.max_tokens = static_cast<int>(max_tokens);
  if (auto e = read_bool(body, "logprobs", plan.logprobs)) return *e;
  std::int64_t top_logprobs = 0;
  if (auto e = read_int(body, "top_logprobs", 0, 20, top_logprobs)) return *e;
  if (top_logprobs > 0 && !plan.logprobs) {
    return bad("top_logprobs requires logprobs to be true", "top_logprobs");
  }
  plan.top_logprobs = static_cast<int>(top_logprobs);

  common_params_sampling& s = *plan.sampling;
  // OpenAI's defaults, not llama.cpp's: no top-k or min-p unless asked for.
  s.temp = 1.0f;
  s.top_p = 1.0f;
  s.top_k = 0;
  s.min_p = 0.0f;
  s.penalty_repeat = 1.0f;
  s.penalty_freq = 0.0f;
  s.penalty_present = 0.0f;
  s.seed = LLAMA_DEFAULT_SEED;
  s.no_perf = true;
  if (auto e = read_number(body, "temperature", 0, 2, s.temp)) return *e;
  if (auto e = read_number(body, "top_p", 0, 1, s.top_p)) return *e;
  if (auto e = read_number(body, "min_p", 0, 1, s.min_p)) return *e;
  if (auto e = read_number(body, "repeat_penalty", 0.01, 10, s.penalty_repeat)) return *e;
  if (auto e = read_number(body, "frequency_penalty", -2, 2, s.penalty_freq)) return *e;
  if (auto e = read_number(body, "presence_penalty", -2, 2, s.penalty_present)) return *e;
  std::int64_t top_k = 0;
  if (auto e = read_int(body, "top_k", 0, 1 << 20, top_k)) return *e;
  s.top_k = static_cast<std::int32_t>(top_k);
  std::int64_t seed = -1;
  if (auto e = read_int(body, "seed", INT64_MIN, INT64_MAX, seed)) return *e;
  if (core::find_member(body, "seed") != nullptr && !body.at("seed").is_null()) {
    s.seed = static_cast<std::uint32_t>(seed);
  }

  if (const json::value* stop = core::find_member(body, "stop"); stop && !stop->is_null()) {
    if (stop->is_string()) {
      plan.stop.emplace_back(stop->get_string());
    } else if (stop->is_array()) {
      for (const auto& item : stop->get_array()) {
        if (!item.is_string() || item.get_string().empty()) {
          return bad("stop must be a string or an array of non-empty strings", "stop");
        }
        plan.stop.emplace_back(item.get_string());
      }
    } else {
      return bad("stop must be a string or an array of strings", "stop");
    }
  }

  if (const json::value* rf = core::find_member(body, "response_format"); rf && !rf->is_null()) {
    const json::value* type =
        rf->is_object() ? core::find_member(rf->get_object(), "type") : nullptr;
    std::string_view t = type && type->is_string() ? std::string_view(type->get_string()) : "";
    if (t == "json_object") {
      plan.inputs.json_object = true;
    } else if (t == "json_schema") {
      const json::value* wrapper = core::find_member(rf->get_object(), "json_schema");
      const json::value* schema = wrapper && wrapper->is_object()
                                      ? core::find_member(wrapper->get_object(), "schema")
                                      : nullptr;
      if (schema == nullptr || !schema->is_object()) {
        return bad("response_format.json_schema.schema must be a JSON schema object",
                   "response_format.json_schema.schema");
      }
      plan.inputs.json_schema = json::serialize(*schema);
    } else if (t != "text") {
      return bad("response_format.type must be text, json_object or json_schema",
                 "response_format.type");
    }
  }
  if (const json::value* tools = core::find_member(body, "tools"); tools && !tools->is_null()) {
    if (!tools->is_array()) return bad("tools must be an array", "tools");
    if (!tools->get_array().empty()) plan.inputs.tools_json = json::serialize(*tools);
  }
  if (const json::value* choice = core::find_member(body, "tool_choice");
      choice && !choice->is_null()) {
    if (choice->is_string()) {
      plan.inputs.tool_choice = std::string(choice->get_string());
    } else if (choice->is_object()) {
      plan.inputs.tool_choice = "required";  // a named function: a tool call is required
    }
  }
  if (const json::value* p = core::find_member(body, "parallel_tool_calls"); p && p->is_bool()) {
    plan.inputs.parallel_tool_calls = p->get_bool();
  }
  if (auto e = read_reasoning(body, plan.inputs)) return *e;
  if (auto e = read_bool(body, "ignore_eos", plan.ignore_eos)) return *e;
  // A grammar ends only on the end-of-generation token: with it masked, a finished structure
  // would leave the sampler no token at all.
  if (plan.ignore_eos && (plan.inputs.json_object || !plan.inputs.json_schema.empty() ||
                          !plan.inputs.tools_json.empty())) {
    return bad(
        "ignore_eos cannot be combined with response_format or tools: constrained output "
        "ends with the end-of-generation token",
        "ignore_eos");
  }
  plan.lora = route.lora;
  if (const json::value* lora = core::find_member(body, "lora"); lora && !lora->is_null()) {
    if (!lora->is_string()) return bad("lora must be the name of an adapter", "lora");
    plan.lora = std::string(lora->get_string());
  }
  return plan;
}

// Waits for the generation's next output (text or its end); nullopt at the deadline or when the
// request is cancelled.
http::Task<std::optional<llm::Generation::Taken>> next_output(llm::Generation& generation,
                                                              http::Waiter& waiter,
                                                              http::Clock::time_point deadline,
                                                              http::CancelSignal* cancel) {
  while (true) {
    if (http::is_cancelled(cancel)) co_return std::nullopt;
    llm::Generation::Taken taken = generation.take();
    if (!taken.empty()) co_return taken;
    if (!co_await waiter.wait(deadline)) co_return std::nullopt;
  }
}

// Stops waiting for a generation (or an embedding job): the scheduler frees its slot.
http::ClientError abandon(llm::Generation* generation, http::CancelSignal* cancel) {
  if (generation != nullptr) {
    generation->set_waker({});
    generation->cancel();
  }
  if (http::is_cancelled(cancel)) return {http::ClientErrorKind::cancelled, "cancelled"};
  return {http::ClientErrorKind::timeout, "the local model did not answer before the deadline"};
}

std::string base64_floats(const std::vector<float>& v) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto* bytes = reinterpret_cast<const unsigned char*>(v.data());
  std::size_t n = v.size() * sizeof(float);
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  for (std::size_t i = 0; i < n; i += 3) {
    std::uint32_t chunk = static_cast<std::uint32_t>(bytes[i]) << 16;
    if (i + 1 < n) chunk |= static_cast<std::uint32_t>(bytes[i + 1]) << 8;
    if (i + 2 < n) chunk |= bytes[i + 2];
    out += kAlphabet[(chunk >> 18) & 63];
    out += kAlphabet[(chunk >> 12) & 63];
    out += i + 1 < n ? kAlphabet[(chunk >> 6) & 63] : '=';
    out += i + 2 < n ? kAlphabet[chunk & 63] : '=';
  }
  return out;
}

}  // namespace

LocalProvider::LocalProvider(const config::ProviderConfig& config) : config_(config) {
  for (const auto& m : config_.local_models) {
    llm::EngineConfig e;
    e.name = m.name;
    e.path = m.path;
    e.context = m.context;
    e.parallel = m.parallel;
    e.threads = m.threads;
    e.batch = m.batch;
    e.gpu_layers = m.gpu_layers;
    e.embeddings = m.embeddings;
    e.start_gap_ms = m.start_gap_ms;
    e.start_max_ms = m.start_max_ms;
    for (const auto& l : m.loras) {
      e.loras.push_back({l.name, l.path, static_cast<float>(l.scale)});
    }
    engines_.emplace(m.name, std::make_unique<llm::Engine>(std::move(e)));
  }
}

llm::Engine* LocalProvider::engine(std::string_view model) const {
  auto it = engines_.find(model);
  return it == engines_.end() ? nullptr : it->second.get();
}

http::Task<LocalProvider::Result> LocalProvider::send(std::string_view path,
                                                      const std::string& text,
                                                      const config::RouteConfig& route,
                                                      http::Clock::time_point deadline,
                                                      http::CancelSignal* cancel) {
  Result result;
  llm::Engine* model = engine(route.model);
  if (model == nullptr) {
    result.response = error_answer(
        core::not_found("local provider has no model '" + route.model + "'", "model_not_found"));
    co_return result;
  }
  auto parsed = core::parse_json(text, 128);
  auto* value = std::get_if<json::value>(&parsed);
  if (value == nullptr || !value->is_object()) {
    result.response = error_answer(bad("the request body is not a JSON object", ""));
    co_return result;
  }
  const json::object& body = value->get_object();
  auto waiter = std::make_shared<http::Waiter>(co_await boost::asio::this_coro::executor);
  http::CancelHook hook(cancel, [waiter] { waiter->interrupt(); });

  if (path == "/embeddings") {
    const json::value* input = core::find_member(body, "input");
    std::vector<std::vector<std::int32_t>> inputs;
    auto add_text = [&](std::string_view s) { inputs.push_back(model->tokenize(s, true, false)); };
    bool ok = input != nullptr;
    if (ok && input->is_string()) {
      add_text(input->get_string());
    } else if (ok && input->is_array() && !input->get_array().empty()) {
      const auto& array = input->get_array();
      if (array[0].is_number()) {
        inputs.emplace_back();
        for (const auto& t : array) {
          ok = ok && t.is_int64() && t.get_int64() >= 0 && t.get_int64() < model->n_vocab();
          if (ok) inputs.back().push_back(static_cast<std::int32_t>(t.get_int64()));
        }
      } else {
        for (const auto& item : array) {
          if (item.is_string()) {
            add_text(item.get_string());
          } else if (item.is_array()) {
            inputs.emplace_back();
            for (const auto& t : item.get_array()) {
              ok = ok && t.is_int64() && t.get_int64() >= 0 && t.get_int64() < model->n_vocab();
              if (ok) inputs.back().push_back(static_cast<std::int32_t>(t.get_int64()));
            }
          } else {
            ok = false;
          }
        }
      }
    } else {
      ok = false;
    }
    if (!ok) {
      result.response = error_answer(
          bad("input must be a string, an array of strings, or token arrays within the "
              "vocabulary",
              "input"));
      co_return result;
    }
    bool base64 = false;
    if (const json::value* f = core::find_member(body, "encoding_format"); f && f->is_string()) {
      base64 = f->get_string() == "base64";
    }
    auto job = model->embed(std::move(inputs));
    job->set_waker(waiter->waker());
    while (!job->done()) {
      if (http::is_cancelled(cancel) || !co_await waiter->wait(deadline)) break;
    }
    if (!job->done()) {
      job->set_waker({});
      result.error = abandon(nullptr, cancel);
      co_return result;
    }
    if (!job->error.empty()) {
      result.response = error_answer(bad(job->error, "input"));
      co_return result;
    }
    json::array data;
    for (std::size_t i = 0; i < job->vectors.size(); ++i) {
      json::object item{{"object", "embedding"}, {"index", i}};
      if (base64) {
        item["embedding"] = base64_floats(job->vectors[i]);
      } else {
        json::array v;
        v.reserve(job->vectors[i].size());
        for (float f : job->vectors[i]) v.push_back(f);
        item["embedding"] = std::move(v);
      }
      data.push_back(std::move(item));
    }
    json::object answer{{"object", "list"}, {"data", std::move(data)}, {"model", route.model}};
    answer["usage"] = json::object{
        {"prompt_tokens", job->prompt_tokens},
        {"total_tokens", job->prompt_tokens},
        {"tandem_compute_us", static_cast<std::int64_t>(job->compute_seconds * 1e6 + 0.5)}};
    result.response = std::make_unique<LocalJsonResponse>(200, json::serialize(answer));
    co_return result;
  }

  auto planned = plan_chat(body, route);
  if (auto* error = std::get_if<core::ApiError>(&planned)) {
    result.response = error_answer(*error);
    co_return result;
  }
  ChatPlan& plan = std::get<ChatPlan>(planned);
  llm::GenerationRequest request;
  if (!plan.lora.empty()) {
    request.lora = model->lora_index(plan.lora);
    if (request.lora < 0) {
      result.response = error_answer(
          bad("local model '" + route.model + "' has no LoRA adapter '" + plan.lora + "'", "lora"));
      co_return result;
    }
  }
  llm::ChatPrompt prompt;
  try {
    prompt = llm::render_chat(*model, plan.inputs);
  } catch (const llm::ChatInputError& e) {
    result.response = error_answer(bad(e.what(), e.param()));
    co_return result;
  }
  request.prompt = model->tokenize(prompt.text, true, true);
  const int context = model->config().context;
  if (static_cast<int>(request.prompt.size()) >= context) {
    result.response = error_answer(core::invalid_request(
        "This model's maximum context length is " + std::to_string(context) +
            " tokens; the prompt has " + std::to_string(request.prompt.size()) + " tokens",
        "messages", "context_length_exceeded"));
    co_return result;
  }
  prompt.apply_to(*model, *plan.sampling);
  request.sampling = plan.sampling;
  request.max_tokens = plan.max_tokens;
  request.logprobs = plan.logprobs;
  request.top_logprobs = plan.top_logprobs;
  request.ignore_eos = plan.ignore_eos;
  request.stop = std::move(plan.stop);
  for (const auto& s : prompt.extra_stops) request.stop.push_back(s);
  request.thought = prompt.thought_tags();

  auto generation = model->generate(std::move(request));
  generation->set_waker(waiter->waker());
  auto first = co_await next_output(*generation, *waiter, deadline, cancel);
  if (!first) {
    result.error = abandon(generation.get(), cancel);
    co_return result;
  }
  if (first->ended && !first->end.error.empty() && first->text.empty()) {
    generation->set_waker({});
    result.response = error_answer(core::internal_error("local model failed: " + first->end.error));
    co_return result;
  }
  CompletionInfo info{completion_id(), unix_now(), route.model};
  if (plan.stream) {
    result.response = std::make_unique<LocalStreamResponse>(std::move(info), generation, waiter,
                                                            std::move(prompt), std::move(*first),
                                                            cancel, plan.logprobs);
    co_return result;
  }
  std::string generated;
  std::vector<llm::TokenLogprob> logprobs;
  llm::GenerationEnd end;
  for (auto output = std::move(first);;) {
    generated += output->text;
    for (auto& lp : output->logprobs) logprobs.push_back(std::move(lp));
    if (output->ended) {
      end = std::move(output->end);
      break;
    }
    output = co_await next_output(*generation, *waiter, deadline, cancel);
    if (!output) {
      result.error = abandon(generation.get(), cancel);
      co_return result;
    }
  }
  generation->set_waker({});
  if (!end.error.empty()) {
    result.response = error_answer(core::internal_error("local model failed: " + end.error));
    co_return result;
  }
  result.response = std::make_unique<LocalJsonResponse>(
      200, completion_json(info, prompt.parse(generated, end.finish_reason == "length"), end,
                           plan.logprobs ? &logprobs : nullptr));
  co_return result;
}

}  // namespace tandem::providers
