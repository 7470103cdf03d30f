// The local provider behind the real gateway: OpenAI-shaped answers and streams from the tiny
// model, structured output that always validates, tool calls, context overflow and its fallback,
// embeddings, LoRA per request, client disconnects, and cost from compute time.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "gateway_fixture.h"
#include "tandem/llm/utf8.h"
#include "test_models.h"

namespace tandem::testing {
namespace {

namespace json = boost::json;

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (std::size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) {
    s.replace(pos, from.size(), to);
  }
}

// Model "tiny" (context 512, 2 sequences), "tiny-fallback" (tiny first, then the mock), and an
// embeddings model; prices 1 / 2 USD per million tokens plus 3.6 USD per hour of compute.
std::string local_config(int parallel = 2) {
  std::string toml = R"(
[server]
log_level = "error"
[providers.gguf]
kind = "local"
input_price_per_mtok = 1
output_price_per_mtok = 2
compute_price_per_hour = 3.6
[providers.gguf.models.tiny]
path = "{MODEL}"
context = 512
parallel = {PARALLEL}
threads = 2
batch = 256
[providers.gguf.models.tiny.loras]
a = "{LORA_A}"
b = "{LORA_B}"
[providers.gguf.models.embed]
path = "{EMBED}"
context = 128
embeddings = true
threads = 2
[providers.up]
kind = "openai"
base_url = "{MOCK}"
max_retries = 0
[models.tiny]
routes = [{ provider = "gguf", model = "tiny" }]
[models.tiny-a]
routes = [{ provider = "gguf", model = "tiny", lora = "a" }]
[models.tiny-fallback]
routes = [{ provider = "gguf", model = "tiny" }, { provider = "up", model = "big-context" }]
[models.embed]
type = "embeddings"
routes = [{ provider = "gguf", model = "embed" }]
[models.remote]
routes = [{ provider = "up", model = "gpt" }]
)";
  replace_all(toml, "{MODEL}", tiny_model_path());
  replace_all(toml, "{EMBED}", tiny_embedding_model_path());
  replace_all(toml, "{LORA_A}", tiny_lora_path(0));
  replace_all(toml, "{LORA_B}", tiny_lora_path(1));
  replace_all(toml, "{PARALLEL}", std::to_string(parallel));
  return toml;
}

std::string chat_body(const std::string& model, const std::string& content, int max_tokens,
                      const std::string& extra = "") {
  return R"({"model":")" + model + R"(","seed":11,"max_tokens":)" + std::to_string(max_tokens) +
         R"(,"messages":[{"role":"user","content":")" + content + "\"}]" + extra + "}";
}

json::object parse_object(const std::string& text) {
  return json::parse(text).as_object();
}

// A request with a generous read timeout: local generation on two shared cores can take seconds.
HttpResult ask(Gateway& gw, std::string_view path, std::string_view body) {
  TestConnection c(gw.port);
  c.send_raw(build_request("POST", path, body));
  auto r = c.read_response(120'000);
  return r ? *r : HttpResult{};
}

HttpResult chat(Gateway& gw, std::string_view body) {
  return ask(gw, "/v1/chat/completions", body);
}

std::string content_of(const HttpResult& r) {
  auto body = json::parse(r.body.empty() ? "{}" : r.body).as_object();
  auto* choices = body.if_contains("choices");
  if (r.status != 200 || choices == nullptr || !choices->is_array()) {
    ADD_FAILURE() << "not a chat answer: HTTP " << r.status << " " << r.body;
    return {};
  }
  auto& message = choices->as_array()[0].as_object()["message"].as_object();
  return message["content"].is_string() ? std::string(message["content"].as_string()) : "";
}

std::string streamed_content(const HttpResult& r) {
  std::string out;
  for (const auto& data : sse_data(r.body)) {
    if (data == "[DONE]") break;
    auto chunk = parse_object(data);
    auto& choices = chunk["choices"].as_array();
    if (choices.empty()) continue;
    auto& delta = choices[0].as_object()["delta"].as_object();
    if (auto* c = delta.if_contains("content"); c && c->is_string()) out += c->as_string();
  }
  return out;
}

// A small JSON-schema check (type, properties, required, enum, items, additionalProperties,
// min/maxItems): enough to hold the grammar-constrained output to its schema.
bool validates(const json::value& v, const json::object& schema, std::string& why) {
  if (auto* e = schema.if_contains("enum")) {
    for (const auto& option : e->as_array()) {
      if (option == v) return true;
    }
    why = "value " + json::serialize(v) + " not in enum";
    return false;
  }
  std::string type = schema.contains("type") ? std::string(schema.at("type").as_string()) : "";
  if (type == "object") {
    if (!v.is_object()) return why = "expected object", false;
    const auto& o = v.as_object();
    const json::object* props =
        schema.contains("properties") ? &schema.at("properties").as_object() : nullptr;
    if (auto* req = schema.if_contains("required")) {
      for (const auto& k : req->as_array()) {
        if (!o.contains(k.as_string())) return why = "missing " + std::string(k.as_string()), false;
      }
    }
    for (const auto& [k, value] : o) {
      if (props != nullptr && props->contains(k)) {
        if (!validates(value, props->at(k).as_object(), why)) return false;
      } else if (schema.contains("additionalProperties") &&
                 schema.at("additionalProperties") == false) {
        return why = "unexpected property " + std::string(k), false;
      }
    }
    return true;
  }
  if (type == "array") {
    if (!v.is_array()) return why = "expected array", false;
    const auto& a = v.as_array();
    if (auto* n = schema.if_contains("minItems"); n && a.size() < n->to_number<std::size_t>()) {
      return why = "too few items", false;
    }
    if (auto* n = schema.if_contains("maxItems"); n && a.size() > n->to_number<std::size_t>()) {
      return why = "too many items", false;
    }
    for (const auto& item : a) {
      if (!validates(item, schema.at("items").as_object(), why)) return false;
    }
    return true;
  }
  if (type == "string") return v.is_string() || (why = "expected string", false);
  if (type == "integer") return v.is_int64() || v.is_uint64() || (why = "expected integer", false);
  if (type == "number") return v.is_number() || (why = "expected number", false);
  if (type == "boolean") return v.is_bool() || (why = "expected boolean", false);
  return true;
}

TEST(LocalGateway, ChatAnswerIsOpenAiShapedAndCharged) {
  Gateway gw(local_config());
  HttpResult r = chat(gw, chat_body("tiny", "Hello", 12));
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = parse_object(r.body);
  EXPECT_EQ(body["object"], "chat.completion");
  auto& choice = body["choices"].as_array()[0].as_object();
  EXPECT_EQ(choice["finish_reason"], "length");
  EXPECT_EQ(choice["message"].as_object()["role"], "assistant");
  auto& usage = body["usage"].as_object();
  EXPECT_EQ(usage["completion_tokens"], 12);
  std::int64_t prompt = usage["prompt_tokens"].as_int64();
  std::int64_t compute_us = usage["tandem_compute_us"].as_int64();
  EXPECT_GT(prompt, 5);
  EXPECT_GT(compute_us, 0);
  EXPECT_EQ(r.header("x-tandem-route"), "gguf:tiny");
  EXPECT_EQ(r.header("x-tandem-prompt-tokens"), std::to_string(prompt));
  // Exact cost: tokens at 1 and 2 USD per million, plus compute at 3.6 USD per hour, which is
  // 1000 pico-USD per microsecond.
  std::int64_t pico = prompt * 1000000 + 12 * 2000000 + compute_us * 1000;
  EXPECT_EQ(r.header("x-tandem-cost-usd"), core::format_usd(pico));
  // The engine's counters reach /metrics.
  EXPECT_EQ(gw.metric(R"(tandem_local_tokens_total{model="gguf:tiny",kind="generated"})"), 12);
  EXPECT_GT(gw.metric(R"(tandem_local_tokens_total{model="gguf:tiny",kind="prompt"})"), 5);
  EXPECT_GE(gw.metric(R"(tandem_local_decode_calls_total{model="gguf:tiny"})"), 12);
  EXPECT_EQ(gw.metric(R"(tandem_local_active_sequences{model="gguf:tiny"})"), 0);
}

TEST(LocalGateway, StreamEqualsNonStreamedAnswerForTheSameSeed) {
  Gateway gw(local_config());
  std::string plain = content_of(chat(gw, chat_body("tiny", "Tell me a story", 20)));
  HttpResult s = chat(gw, chat_body("tiny", "Tell me a story", 20, R"(,"stream":true)"));
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_EQ(s.header("content-type"), "text/event-stream");
  EXPECT_EQ(streamed_content(s), plain);
  auto events = sse_data(s.body);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back(), "[DONE]");
  EXPECT_FALSE(s.trailers["x-tandem-cost-usd"].empty());
  // Usage was not asked for, so no usage chunk reaches the client.
  EXPECT_EQ(s.body.find("\"usage\""), std::string::npos);
}

TEST(LocalGateway, SchemaConstrainedOutputAlwaysValidates) {
  Gateway gw(local_config());
  std::vector<std::string> schemas = {
      R"({"type":"object","properties":{"ok":{"type":"boolean"},"n":{"type":"integer"}},"required":["ok","n"],"additionalProperties":false})",
      R"({"type":"object","properties":{"mood":{"enum":["happy","sad","neutral"]},"tags":{"type":"array","items":{"enum":["a","b","c"]},"minItems":1,"maxItems":3}},"required":["mood","tags"],"additionalProperties":false})",
      R"({"type":"object","properties":{"user":{"type":"object","properties":{"id":{"type":"integer"},"admin":{"type":"boolean"}},"required":["id","admin"],"additionalProperties":false},"scores":{"type":"array","items":{"type":"integer"},"maxItems":2}},"required":["user","scores"],"additionalProperties":false})",
      R"({"type":"array","items":{"enum":[1,2,3]},"minItems":2,"maxItems":4})",
  };
  for (std::size_t i = 0; i < schemas.size(); ++i) {
    for (int seed : {1, 2, 3}) {
      std::string body =
          R"({"model":"tiny","max_tokens":200,"seed":)" + std::to_string(seed) +
          R"(,"messages":[{"role":"user","content":"Give JSON"}],)" +
          R"("response_format":{"type":"json_schema","json_schema":{"name":"s","schema":)" +
          schemas[i] + "}}}";
      HttpResult r = chat(gw, body);
      ASSERT_EQ(r.status, 200) << r.body;
      std::string content = content_of(r);
      json::value parsed;
      ASSERT_NO_THROW(parsed = json::parse(content)) << "schema " << i << ": " << content;
      std::string why;
      EXPECT_TRUE(validates(parsed, json::parse(schemas[i]).as_object(), why))
          << "schema " << i << " seed " << seed << ": " << why << " in " << content;
    }
  }
  // json_object mode gives an object too.
  HttpResult r =
      chat(gw, chat_body("tiny", "Give JSON", 200, R"(,"response_format":{"type":"json_object"})"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(json::parse(content_of(r)).is_object()) << content_of(r);
}

TEST(LocalGateway, AJsonReplyInACodeFenceAnswersAndStreamsAsTheBareJson) {
  // llama.cpp's grammar for a response format lets the model wrap the JSON in a ```json fence;
  // the content is the JSON alone, streamed or not. These seeds give fenced replies (the
  // logprobs show the tokens as generated, and the test checks that some had a fence).
  Gateway gw(local_config());
  const std::string schema =
      R"({"type":"object","properties":{"ok":{"type":"boolean"},"n":{"type":"integer"}},"required":["ok","n"],"additionalProperties":false})";
  int fenced = 0;
  for (int seed : {18, 25, 34}) {
    const std::string body =
        R"({"model":"tiny","max_tokens":200,"logprobs":true,"seed":)" + std::to_string(seed) +
        R"(,"messages":[{"role":"user","content":"Give JSON"}],)" +
        R"("response_format":{"type":"json_schema","json_schema":{"name":"s","schema":)" + schema +
        "}}";
    HttpResult r = chat(gw, body + "}");
    ASSERT_EQ(r.status, 200) << r.body;
    std::string generated;
    json::object answer = parse_object(r.body);
    auto& choice = answer["choices"].as_array()[0].as_object();
    for (const auto& t : choice["logprobs"].as_object()["content"].as_array()) {
      generated += t.as_object().at("token").as_string();
    }
    fenced += generated.find("```") != std::string::npos ? 1 : 0;
    const std::string content = content_of(r);
    json::value parsed;
    ASSERT_NO_THROW(parsed = json::parse(content)) << "seed " << seed << ": " << content;
    std::string why;
    EXPECT_TRUE(validates(parsed, json::parse(schema).as_object(), why))
        << why << " in " << content;
    HttpResult s = chat(gw, body + R"(,"stream":true})");
    ASSERT_EQ(s.status, 200) << s.body;
    EXPECT_EQ(streamed_content(s), content) << "seed " << seed;
    // Every token's logprob reaches the client, those of the fence and spaces too, in order.
    std::string streamed_tokens;
    for (const auto& data : sse_data(s.body)) {
      if (data == "[DONE]") break;
      json::object chunk = parse_object(data);
      auto& choices = chunk["choices"].as_array();
      if (choices.empty() || !choices[0].as_object()["logprobs"].is_object()) continue;
      for (const auto& t : choices[0].as_object()["logprobs"].as_object()["content"].as_array()) {
        streamed_tokens += t.as_object().at("token").as_string();
      }
    }
    EXPECT_EQ(streamed_tokens, generated) << "seed " << seed;
  }
  EXPECT_GT(fenced, 0) << "no reply came in a fence: these seeds no longer test it";
}

// The tiny model under a reasoning template: Qwen3.5's by default, which opens <think> in the
// prompt; a random model never closes it, so everything it generates is reasoning.
std::string thinking_config(const std::string& template_file = "Qwen3.5-4B.jinja",
                            bool control_tags = false) {
  std::string toml = R"(
[server]
log_level = "error"
[providers.gguf]
kind = "local"
[providers.gguf.models.thinker]
path = "{MODEL}"
context = 512
parallel = 2
threads = 2
batch = 256
[models.thinker]
routes = [{ provider = "gguf", model = "thinker" }]
)";
  replace_all(toml, "{MODEL}", tiny_model_with_template(template_file, control_tags));
  return toml;
}

// usage.completion_tokens_details.reasoning_tokens of an answer or stream chunk; -1 when missing.
std::int64_t reasoning_tokens(const std::string& answer) {
  json::object body = parse_object(answer);
  auto* usage = body.if_contains("usage");
  if (usage == nullptr || !usage->is_object()) return -1;
  auto* details = usage->as_object().if_contains("completion_tokens_details");
  if (details == nullptr || !details->is_object()) return -1;
  auto* n = details->as_object().if_contains("reasoning_tokens");
  return n != nullptr && n->is_int64() ? n->as_int64() : -1;
}

// Each generated token's bytes, from an answer with logprobs.
std::vector<std::string> token_bytes(const HttpResult& r) {
  std::vector<std::string> tokens;
  json::object answer = parse_object(r.body);
  for (const auto& t :
       answer["choices"].as_array()[0].as_object()["logprobs"].as_object()["content"].as_array()) {
    std::string bytes;
    for (const auto& b : t.as_object().at("bytes").as_array()) {
      bytes += static_cast<char>(b.to_number<int>());
    }
    tokens.push_back(std::move(bytes));
  }
  return tokens;
}

// What the model generated, from the logprobs' bytes (made valid UTF-8, as a client's text is).
std::string generated_text(const HttpResult& r) {
  std::string bytes;
  for (const auto& t : token_bytes(r)) bytes += t;
  return llm::sanitize_utf8(bytes);
}

// The tokens of an answer with logprobs, up to and including the one that completes `tag`
// (0: none does).
std::int64_t tokens_through(const HttpResult& r, const std::string& tag) {
  std::string bytes;
  std::int64_t n = 0;
  for (const auto& t : token_bytes(r)) {
    ++n;
    bytes += t;
    if (bytes.find(tag) != std::string::npos) return n;
  }
  return 0;
}

// The message's reasoning_content ("" when absent) and content.
std::pair<std::string, std::string> thought_and_answer(const HttpResult& r) {
  EXPECT_EQ(r.status, 200) << r.body;
  if (r.status != 200) return {};
  json::object body = parse_object(r.body);
  auto& message = body["choices"].as_array()[0].as_object()["message"].as_object();
  std::string reasoning;
  if (auto* t = message.if_contains("reasoning_content")) reasoning = t->as_string();
  return {reasoning, std::string(message["content"].as_string())};
}

TEST(LocalGateway, AReasoningModelsThoughtIsReasoningContentStreamedOrNot) {
  Gateway gw(thinking_config());
  const std::string logprobs = R"(,"logprobs":true)";
  HttpResult r = chat(gw, chat_body("thinker", "Think about it", 24, logprobs));
  auto [reasoning, content] = thought_and_answer(r);
  // What the model generated, from the logprobs' bytes; the text a client gets is valid UTF-8.
  std::string bytes, tokens;
  json::object answer = parse_object(r.body);
  for (const auto& t :
       answer["choices"].as_array()[0].as_object()["logprobs"].as_object()["content"].as_array()) {
    tokens += t.as_object().at("token").as_string();
    for (const auto& b : t.as_object().at("bytes").as_array()) {
      bytes += static_cast<char>(b.to_number<int>());
    }
  }
  const std::string generated = llm::sanitize_utf8(bytes);
  EXPECT_FALSE(reasoning.empty()) << r.body;
  EXPECT_EQ(content, "");
  EXPECT_NE(generated.find(reasoning), std::string::npos) << generated << " / " << reasoning;
  // Every generated token is thought (an end-of-generation token would have no logprob entry).
  EXPECT_EQ(reasoning_tokens(r.body), static_cast<std::int64_t>(token_bytes(r).size())) << r.body;

  // The stream sends the same thought as reasoning_content deltas, and every token's logprob.
  HttpResult s =
      chat(gw, chat_body("thinker", "Think about it", 24, logprobs + R"(,"stream":true)"));
  ASSERT_EQ(s.status, 200) << s.body;
  std::string streamed_reasoning, streamed_tokens;
  for (const auto& data : sse_data(s.body)) {
    if (data == "[DONE]") break;
    json::object chunk = parse_object(data);
    auto& choices = chunk["choices"].as_array();
    if (choices.empty()) continue;
    auto& choice = choices[0].as_object();
    if (auto* t = choice["delta"].as_object().if_contains("reasoning_content")) {
      streamed_reasoning += t->as_string();
    }
    if (!choice["logprobs"].is_object()) continue;
    for (const auto& t : choice["logprobs"].as_object()["content"].as_array()) {
      streamed_tokens += t.as_object().at("token").as_string();
    }
  }
  EXPECT_EQ(streamed_reasoning, reasoning);
  EXPECT_EQ(streamed_content(s), "");
  EXPECT_EQ(streamed_tokens, tokens);

  // reasoning_format "none": the same generation in the content, after the <think> that the
  // prompt opened.
  auto [raw_reasoning, raw] = thought_and_answer(
      chat(gw, chat_body("thinker", "Think about it", 24, R"(,"reasoning_format":"none")")));
  EXPECT_EQ(raw_reasoning, "");
  EXPECT_TRUE(raw.starts_with("<think>")) << raw;
  EXPECT_TRUE(raw.ends_with(generated)) << raw << " / " << generated;
}

TEST(LocalGateway, ThinkingTurnedOffAnswersInTheContent) {
  Gateway gw(thinking_config());
  auto [reasoning, content] = thought_and_answer(
      chat(gw, chat_body("thinker", "Answer at once", 16,
                         R"(,"chat_template_kwargs":{"enable_thinking":false})")));
  EXPECT_EQ(reasoning, "");
  EXPECT_FALSE(content.empty());
  // OpenAI's reasoning_effort "none" asks the same of the template: the same prompt and answer.
  auto [effort_reasoning, effort_content] = thought_and_answer(
      chat(gw, chat_body("thinker", "Answer at once", 16, R"(,"reasoning_effort":"none")")));
  EXPECT_EQ(effort_reasoning, "");
  EXPECT_EQ(effort_content, content);
  // And the answer streams as content.
  HttpResult s =
      chat(gw, chat_body("thinker", "Answer at once", 16,
                         R"(,"stream":true,"chat_template_kwargs":{"enable_thinking":false})"));
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_EQ(streamed_content(s), content);
}

// The text the model generated, from the answer's logprobs' bytes.
TEST(LocalGateway, AReasoningBudgetEndsTheThoughtAndTheAnswerFollows) {
  // Left alone, the random model never closes its thought (the test above). With a budget the
  // sampler forces the closing tag after that many tokens, and what follows is the answer.
  Gateway gw(thinking_config());
  struct Case {
    std::string extra;
    std::string forced;  // the text the budget forced
    bool thinks;         // some thought before it
  };
  for (const auto& c : std::vector<Case>{
           {R"(,"reasoning_budget_tokens":3)", "</think>", true},
           {R"(,"thinking_budget_tokens":3,"temperature":0)", "</think>", true},  // greedy too
           // 0: the template closes the thought in the prompt, as with thinking turned off, and
           // nothing is forced into the answer; a template kwarg cannot open it again.
           {R"(,"reasoning_budget_tokens":0)", "", false},
           {R"(,"reasoning_budget_tokens":0,"reasoning_budget_message":" Enough.")", "", false},
           {R"(,"reasoning_budget_tokens":0,"chat_template_kwargs":{"enable_thinking":true})", "",
            false},
           {R"(,"reasoning_budget_tokens":2,"reasoning_budget_message":" Enough.")",
            " Enough.</think>", true}}) {
    HttpResult r =
        chat(gw, chat_body("thinker", "Think briefly", 24, R"(,"logprobs":true)" + c.extra));
    auto [reasoning, content] = thought_and_answer(r);
    const std::string generated = generated_text(r);
    std::size_t at = generated.find(c.forced);
    ASSERT_NE(at, std::string::npos) << c.extra << ": " << generated;
    EXPECT_FALSE(content.empty()) << c.extra << ": " << r.body;
    EXPECT_NE(generated.find(content, at + c.forced.size()), std::string::npos)
        << c.extra << ": the answer is what follows the forced tag: " << generated;
    EXPECT_EQ(!reasoning.empty(), c.thinks) << c.extra << ": '" << reasoning << "'";
    // The thought is the tokens through the closing tag (the prompt opened it); none at budget 0.
    EXPECT_EQ(reasoning_tokens(r.body), c.thinks ? tokens_through(r, "</think>") : 0) << c.extra;
    if (!c.thinks) {
      EXPECT_EQ(content.find("Enough"), std::string::npos) << c.extra << ": " << content;
      EXPECT_EQ(generated.find("</think>"), std::string::npos) << c.extra << ": " << generated;
    }
    if (c.forced.size() > std::string("</think>").size()) {
      EXPECT_TRUE(reasoning.ends_with("Enough.")) << reasoning;
    }
  }
}

TEST(LocalGateway, ThinkingTagsThatAreControlTokensStillSplitTheReply) {
  // Mistral's [THINK] and [/THINK], gpt-oss's harmony markers: control tokens, which have no text
  // by default. The template preserves them, so the engine gives them their text and the parser
  // finds the thought's end, as llama-server does; otherwise the forced tag would vanish and the
  // whole reply would read as thought.
  Gateway gw(thinking_config("Qwen3.5-4B.jinja", true));
  const std::string budget = R"(,"logprobs":true,"reasoning_budget_tokens":3)";
  HttpResult r = chat(gw, chat_body("thinker", "Think briefly", 24, budget));
  auto [reasoning, content] = thought_and_answer(r);
  const std::string generated = generated_text(r);
  std::size_t at = generated.find("</think>");
  ASSERT_NE(at, std::string::npos) << generated;
  EXPECT_FALSE(reasoning.empty()) << r.body;
  EXPECT_FALSE(content.empty()) << r.body;
  EXPECT_NE(generated.find(content, at), std::string::npos) << generated << " / " << content;
  EXPECT_EQ(reasoning_tokens(r.body), tokens_through(r, "</think>"));
  // The stream splits it alike, and its usage counts the thought too.
  HttpResult s =
      chat(gw, chat_body("thinker", "Think briefly", 24,
                         budget + R"(,"stream":true,"stream_options":{"include_usage":true})"));
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_EQ(streamed_content(s), content);
  auto events = sse_data(s.body);
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(reasoning_tokens(events[events.size() - 2]), reasoning_tokens(r.body))
      << events[events.size() - 2];
}

TEST(LocalGateway, AFormatTheTemplateCannotConstrainIsA400) {
  // DeepSeek-R1's and Qwen3.5's prompts open the thought; with reasoning_format "none" a response
  // format's grammar has no room for it, and its sampler cannot start. The request's options
  // conflict: a 400 that says so, not the server error it was.
  for (const std::string file :
       {"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", "Qwen3.5-4B.jinja"}) {
    Gateway gw(thinking_config(file));
    for (
        const std::string format :
        {R"("response_format":{"type":"json_object"})",
         R"("response_format":{"type":"json_schema","json_schema":{"name":"a","schema":{"type":"object"}}})"}) {
      for (const std::string stream : {"false", "true"}) {
        HttpResult r =
            chat(gw, chat_body("thinker", "Answer", 8,
                               R"(,"reasoning_format":"none","stream":)" + stream + "," + format));
        EXPECT_EQ(r.status, 400) << file << " " << format << " " << r.body;
        if (r.status != 400) continue;
        auto error = parse_object(r.body)["error"].as_object();
        EXPECT_EQ(error["param"], "reasoning_format") << r.body;
        EXPECT_EQ(error["type"], "invalid_request_error") << r.body;
        EXPECT_NE(std::string(error["message"].as_string()).find("response_format"),
                  std::string::npos)
            << r.body;
      }
      // Read apart, the thought is no obstacle.
      HttpResult ok = chat(gw, chat_body("thinker", "Answer", 8, "," + format));
      EXPECT_EQ(ok.status, 200) << ok.body;
    }
  }
}

TEST(LocalGateway, ARequiredToolCallCompilesUnderAReasoningTemplate) {
  // A reasoning template's grammar root holds the thought's own "until-N": making the call start
  // at once must take out only the free text before the calls, or the grammar does not compile.
  Gateway gw(thinking_config("Qwen-Qwen3-0.6B.jinja"));
  std::string tools =
      R"(,"tool_choice":"required","tools":[{"type":"function","function":{"name":"ping","parameters":{"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"]}}}])";
  HttpResult r = chat(gw, chat_body("thinker", "Call it", 40, tools));
  ASSERT_EQ(r.status, 200) << r.body;
  HttpResult s = chat(gw, chat_body("thinker", "Call it", 40, tools + R"(,"stream":true)"));
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_EQ(sse_data(s.body).back(), "[DONE]");
}

TEST(LocalGateway, RequiredToolChoiceGivesParsedToolCalls) {
  Gateway gw(local_config());
  std::string tools =
      R"(,"tool_choice":"required","tools":[{"type":"function","function":{"name":"set_light","description":"Turn a light on or off","parameters":{"type":"object","properties":{"on":{"type":"boolean"},"room":{"enum":["kitchen","hall"]}},"required":["on","room"],"additionalProperties":false}}}])";
  // Grammar-constrained sampling over a 151k-token vocabulary is slow with random weights (nearly
  // every sampled token is rejected and the grammar runs over the whole vocabulary): seconds.
  HttpResult r = chat(gw, chat_body("tiny", "Light the kitchen", 150, tools));
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = parse_object(r.body);
  auto& choice = body["choices"].as_array()[0].as_object();
  auto& message = choice["message"].as_object();
  ASSERT_TRUE(message.contains("tool_calls")) << r.body;
  auto& call = message["tool_calls"].as_array()[0].as_object();
  EXPECT_EQ(call["type"], "function");
  EXPECT_EQ(call["function"].as_object()["name"], "set_light");
  json::value args;
  ASSERT_NO_THROW(args = json::parse(call["function"].as_object()["arguments"].as_string()))
      << r.body;
  EXPECT_TRUE(args.as_object()["on"].is_bool()) << args;
  // One call, or more until max_tokens cut the next one (the complete ones are returned).
  EXPECT_TRUE(choice["finish_reason"] == "tool_calls" || choice["finish_reason"] == "length")
      << choice["finish_reason"];
}

TEST(LocalGateway, PromptLongerThanTheContextIsA400ThatSaysSo) {
  Gateway gw(local_config());
  std::string long_text;
  for (int i = 0; i < 600; ++i) long_text += "word ";
  HttpResult r = chat(gw, chat_body("tiny", long_text, 5));
  EXPECT_EQ(r.status, 400) << r.body;
  auto error = parse_object(r.body)["error"].as_object();
  EXPECT_EQ(error["code"], "context_length_exceeded");
  EXPECT_NE(std::string(error["message"].as_string()).find("context"), std::string::npos);
}

TEST(LocalGateway, PromptTooLongForTheLocalModelFallsBackToARouteThatFits) {
  Gateway gw(local_config());
  std::string long_text;
  for (int i = 0; i < 600; ++i) long_text += "word ";
  HttpResult r = chat(gw, chat_body("tiny-fallback", long_text, 5));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-tandem-route"), "up:big-context");
  EXPECT_NE(r.header("x-tandem-attempts").find("gguf:tiny=context_length_exceeded"),
            std::string::npos)
      << r.header("x-tandem-attempts");
  // A short prompt stays local.
  HttpResult s = chat(gw, chat_body("tiny-fallback", "short", 5));
  EXPECT_EQ(s.header("x-tandem-route"), "gguf:tiny");
}

TEST(LocalGateway, BadParametersAreClear400s) {
  Gateway gw(local_config());
  struct Case {
    std::string extra, param;
  };
  for (
      const auto& c : std::vector<Case>{
          {R"(,"temperature":5)", "temperature"},
          {R"(,"n":3)", "n"},
          {R"(,"max_completion_tokens":0)", "max_completion_tokens"},
          {R"(,"top_k":"many")", "top_k"},
          {R"(,"stop":[1])", "stop"},
          {R"(,"lora":"nope")", "lora"},
          {R"(,"response_format":{"type":"xml"})", "response_format.type"},
          {R"(,"ignore_eos":"yes")", "ignore_eos"},
          {R"(,"ignore_eos":true,"response_format":{"type":"json_object"})", "ignore_eos"},
          {R"(,"reasoning_format":"inline")", "reasoning_format"},
          {R"(,"reasoning_effort":"extreme")", "reasoning_effort"},
          {R"(,"reasoning_effort":0)", "reasoning_effort"},
          {R"(,"chat_template_kwargs":[1])", "chat_template_kwargs"},
          {R"(,"chat_template_kwargs":{"messages":[]})", "chat_template_kwargs.messages"},
          {R"(,"reasoning_budget_tokens":-2)", "reasoning_budget_tokens"},
          {R"(,"thinking_budget_tokens":1.5)", "thinking_budget_tokens"},
          {R"(,"reasoning_budget_message":5)", "reasoning_budget_message"},
          {R"(,"chat_template_kwargs":{"enable_thinking":"false"})",
           "chat_template_kwargs.enable_thinking"},
          // Schemas whose grammar would send llama.cpp's parser into an endless loop that eats
          // memory (a maximum below the minimum): a 400 at once.
          {R"(,"response_format":{"type":"json_schema","json_schema":{"name":"p","schema":{"type":"string","pattern":"^a{2,1}$"}}})",
           "response_format"},
          {R"(,"response_format":{"type":"json_schema","json_schema":{"name":"l","schema":{"type":"string","minLength":5,"maxLength":2}}})",
           "response_format"},
          {R"(,"response_format":{"type":"json_schema","json_schema":{"name":"i","schema":{"type":"array","items":{"type":"integer"},"minItems":5,"maxItems":3}}})",
           "response_format"},
          {R"(,"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"s":{"type":"string","pattern":"^x{9,3}$"}},"required":["s"]}}}])",
           "tools"}}) {
    HttpResult r = chat(gw, chat_body("tiny", "hi", 3, c.extra));
    EXPECT_EQ(r.status, 400) << c.extra << ": " << r.body;
    EXPECT_EQ(parse_object(r.body)["error"].as_object()["param"], json::value(c.param)) << r.body;
  }
}

TEST(LocalGateway, IgnoreEosIsTakenAsLlamaServerTakesIt) {
  // The engine test (Engine.IgnoreEosRunsPastTheEndOfGenerationToken) shows what it does.
  Gateway gw(local_config());
  HttpResult r = chat(gw, chat_body("tiny", "Hello", 9, R"(,"ignore_eos":true)"));
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = parse_object(r.body);
  EXPECT_EQ(body["choices"].as_array()[0].as_object()["finish_reason"], "length");
  EXPECT_EQ(body["usage"].as_object()["completion_tokens"], 9);
}

TEST(LocalGateway, LoraPerRequestAndPerRouteChangeTheOutput) {
  Gateway gw(local_config());
  std::string base = content_of(chat(gw, chat_body("tiny", "Adapters", 12)));
  std::string a = content_of(chat(gw, chat_body("tiny", "Adapters", 12, R"(,"lora":"a")")));
  std::string b = content_of(chat(gw, chat_body("tiny", "Adapters", 12, R"(,"lora":"b")")));
  std::string route_a = content_of(chat(gw, chat_body("tiny-a", "Adapters", 12)));
  EXPECT_NE(base, a);
  EXPECT_NE(a, b);
  EXPECT_EQ(route_a, a);
  EXPECT_EQ(content_of(chat(gw, chat_body("tiny", "Adapters", 12))), base) << "base unchanged";
}

TEST(LocalGateway, ConcurrentRequestsMatchSerialOnes) {
  Gateway gw(local_config(4), 4);
  std::vector<std::string> prompts = {"one", "two two", "three three three", "four"};
  std::vector<std::string> serial;
  for (const auto& p : prompts) serial.push_back(content_of(chat(gw, chat_body("tiny", p, 16))));
  std::vector<std::string> concurrent(prompts.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    threads.emplace_back(
        [&, i] { concurrent[i] = content_of(chat(gw, chat_body("tiny", prompts[i], 16))); });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(concurrent, serial);
}

TEST(LocalGateway, ClientThatDisconnectsFreesItsSequence) {
  Gateway gw(local_config(1));
  {
    TestConnection c(gw.port);
    c.send_raw(build_request("POST", "/v1/chat/completions",
                             chat_body("tiny", "endless", 100000, R"(,"stream":true)")));
    auto head = c.read_until(
        [](const std::string& body) { return body.find("content") != std::string::npos; });
    ASSERT_TRUE(head.has_value());
    c.close();
  }
  // With one sequence slot, this only completes if the disconnected stream's slot was freed.
  HttpResult r = chat(gw, chat_body("tiny", "next", 4));
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST(LocalGateway, EmbeddingsFloatAndBase64) {
  Gateway gw(local_config());
  HttpResult r = ask(gw, "/v1/embeddings", R"({"model":"embed","input":["alpha","beta"]})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = parse_object(r.body);
  auto& data = body["data"].as_array();
  ASSERT_EQ(data.size(), 2u);
  auto& v = data[0].as_object()["embedding"].as_array();
  EXPECT_EQ(v.size(), 64u);
  EXPECT_GT(body["usage"].as_object()["prompt_tokens"].as_int64(), 0);
  HttpResult b64 =
      ask(gw, "/v1/embeddings", R"({"model":"embed","input":"alpha","encoding_format":"base64"})");
  ASSERT_EQ(b64.status, 200) << b64.body;
  std::string encoded(
      parse_object(b64.body)["data"].as_array()[0].as_object()["embedding"].as_string());
  EXPECT_EQ(encoded.size(), (64 * 4 + 2) / 3 * 4);
  HttpResult bad = ask(gw, "/v1/embeddings", R"({"model":"embed","input":[{"x":1}]})");
  EXPECT_EQ(bad.status, 400);
}

}  // namespace
}  // namespace tandem::testing

namespace tandem::testing {
namespace {

// -- logprobs ---------------------------------------------------------------------------------

const json::value& logprobs_of(const json::object& choice) {
  return choice.at("logprobs");
}

// Checks one logprobs.content entry's shape; returns its token's bytes.
std::string check_entry(const json::value& v, std::size_t top) {
  const auto& e = v.as_object();
  EXPECT_TRUE(e.at("token").is_string());
  EXPECT_LE(e.at("logprob").to_number<double>(), 0.0);
  std::string bytes;
  for (const auto& b : e.at("bytes").as_array()) {
    std::int64_t x = b.to_number<std::int64_t>();
    EXPECT_TRUE(x >= 0 && x < 256);
    bytes += static_cast<char>(x);
  }
  EXPECT_EQ(llm::sanitize_utf8(bytes), e.at("token").as_string());
  const auto& alternatives = e.at("top_logprobs").as_array();
  EXPECT_EQ(alternatives.size(), top);
  for (std::size_t k = 0; k < alternatives.size(); ++k) {
    const auto& a = alternatives[k].as_object();
    EXPECT_TRUE(a.at("token").is_string());
    EXPECT_TRUE(a.at("bytes").is_array());
    EXPECT_LE(a.at("logprob").to_number<double>(), 0.0);
    if (k > 0) {
      EXPECT_GE(alternatives[k - 1].at("logprob").to_number<double>(),
                a.at("logprob").to_number<double>());
    }
  }
  return bytes;
}

TEST(LocalGateway, LogprobsInAnswersAndStreamsAgree) {
  Gateway gw(local_config());
  const std::string extra = R"(,"logprobs":true,"top_logprobs":3)";
  HttpResult r = chat(gw, chat_body("tiny", "Tell me a story", 10, extra));
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = parse_object(r.body);
  const auto& choice = body["choices"].as_array()[0].as_object();
  const auto& content = logprobs_of(choice).at("content").as_array();
  auto completion = body["usage"].as_object()["completion_tokens"].as_int64();
  bool eos = choice.at("finish_reason") == "stop";
  EXPECT_EQ(static_cast<std::int64_t>(content.size()), eos ? completion - 1 : completion);
  std::string bytes;
  for (const auto& entry : content) bytes += check_entry(entry, 3);
  EXPECT_EQ(llm::sanitize_utf8(bytes), content_of(r)) << "the entries are the answer's tokens";

  HttpResult s = chat(gw, chat_body("tiny", "Tell me a story", 10, extra + R"(,"stream":true)"));
  ASSERT_EQ(s.status, 200) << s.body;
  json::array streamed;
  for (const auto& data : sse_data(s.body)) {
    if (data == "[DONE]") break;
    auto chunk = parse_object(data);
    auto& choices = chunk["choices"].as_array();
    if (choices.empty()) continue;
    const auto& c = choices[0].as_object();
    const auto& delta = c.at("delta").as_object();
    const auto* text = delta.if_contains("content");
    if (logprobs_of(c).is_null()) {
      EXPECT_TRUE(text == nullptr || text->as_string().empty()) << "text without logprobs";
      continue;
    }
    std::string chunk_bytes;
    for (const auto& entry : logprobs_of(c).at("content").as_array()) {
      chunk_bytes += check_entry(entry, 3);
      streamed.push_back(entry);
    }
    ASSERT_NE(text, nullptr);
    EXPECT_EQ(llm::sanitize_utf8(chunk_bytes), text->as_string())
        << "a chunk carries the logprobs of its own tokens";
  }
  ASSERT_EQ(streamed.size(), content.size());
  for (std::size_t i = 0; i < content.size(); ++i) {
    const auto& a = content[i].as_object();
    const auto& b = streamed[i].as_object();
    EXPECT_EQ(a.at("token"), b.at("token")) << i;
    // (the second request finds its prompt in the KV cache: the same up to rounding)
    EXPECT_NEAR(a.at("logprob").to_number<double>(), b.at("logprob").to_number<double>(), 1e-4);
    for (std::size_t k = 0; k < 3; ++k) {
      EXPECT_EQ(a.at("top_logprobs").as_array()[k].at("token"),
                b.at("top_logprobs").as_array()[k].at("token"));
    }
  }
}

TEST(LocalGateway, NoLogprobsUnlessAsked) {
  Gateway gw(local_config());
  for (const std::string extra : {"", R"(,"logprobs":false)"}) {
    HttpResult r = chat(gw, chat_body("tiny", "Hello", 4, extra));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(logprobs_of(parse_object(r.body)["choices"].as_array()[0].as_object()).is_null());
    HttpResult s = chat(gw, chat_body("tiny", "Hello", 4, extra + R"(,"stream":true)"));
    ASSERT_EQ(s.status, 200) << s.body;
    for (const auto& data : sse_data(s.body)) {
      if (data == "[DONE]") break;
      auto chunk = parse_object(data);
      for (const auto& c : chunk["choices"].as_array()) {
        EXPECT_TRUE(logprobs_of(c.as_object()).is_null()) << data;
      }
    }
  }
  // logprobs without alternatives: empty top_logprobs.
  HttpResult r = chat(gw, chat_body("tiny", "Hello", 4, R"(,"logprobs":true)"));
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = parse_object(r.body);
  for (const auto& entry :
       logprobs_of(body["choices"].as_array()[0].as_object()).at("content").as_array()) {
    check_entry(entry, 0);
  }
}

TEST(LocalGateway, LogprobsParametersAreChecked) {
  Gateway gw(local_config());
  struct Case {
    std::string extra, param;
  };
  for (const auto& c : std::vector<Case>{{R"(,"logprobs":true,"top_logprobs":21)", "top_logprobs"},
                                         {R"(,"logprobs":true,"top_logprobs":-1)", "top_logprobs"},
                                         {R"(,"top_logprobs":2)", "top_logprobs"},
                                         {R"(,"logprobs":"yes")", "logprobs"}}) {
    HttpResult r = chat(gw, chat_body("tiny", "hi", 3, c.extra));
    EXPECT_EQ(r.status, 400) << c.extra << ": " << r.body;
    EXPECT_EQ(parse_object(r.body)["error"].as_object()["param"], json::value(c.param)) << r.body;
  }
}

TEST(LocalGateway, LabelSchemaLogprobsAreOverTheAllowedTokens) {
  Gateway gw(local_config());
  // A label set as a JSON schema. The template's grammar lets the answer begin with whitespace
  // or a code fence; once the opening quote is written, only the labels can follow, and the
  // probabilities of the tokens that can begin one sum to 1.
  std::string body =
      R"({"model":"tiny","max_tokens":40,"temperature":0,"logprobs":true,"top_logprobs":20,)"
      R"("messages":[{"role":"user","content":"Spam or ham?"}],)"
      R"("response_format":{"type":"json_schema","json_schema":{"name":"label","schema":)"
      R"({"enum":["spam","ham"]}}}})";
  HttpResult r = chat(gw, body);
  ASSERT_EQ(r.status, 200) << r.body;
  std::string answer_text = content_of(r);
  const std::string spam = "spam\"", ham = "ham\"";
  EXPECT_TRUE(answer_text.find("\"" + spam) != std::string::npos ||
              answer_text.find("\"" + ham) != std::string::npos)
      << answer_text;
  auto answer = parse_object(r.body);
  const auto& content =
      logprobs_of(answer["choices"].as_array()[0].as_object()).at("content").as_array();
  // The token after the opening quote.
  std::string before;
  std::size_t at = 0;
  while (at < content.size() && !before.ends_with("\"")) {
    before += std::string(content[at].at("token").as_string());
    ++at;
  }
  ASSERT_LT(at, content.size()) << "no token after an opening quote in " << answer_text;
  auto begins = [](const std::string& label, const std::string& token) {
    return label.starts_with(token) || token.starts_with(label);
  };
  double sum = 0;
  bool has_spam = false, has_ham = false;
  const auto& alternatives = content[at].at("top_logprobs").as_array();
  for (const auto& alt : alternatives) {
    std::string token(alt.at("token").as_string());
    EXPECT_TRUE(begins(spam, token) || begins(ham, token)) << "not a label token: " << token;
    has_spam = has_spam || begins(spam, token);
    has_ham = has_ham || begins(ham, token);
    sum += std::exp(alt.at("logprob").to_number<double>());
  }
  EXPECT_LT(alternatives.size(), 20u) << "every allowed token is listed";
  EXPECT_NEAR(sum, 1.0, 1e-3) << "the allowed tokens share all the probability";
  EXPECT_TRUE(has_spam && has_ham) << "tokens of both labels can follow the quote";
  EXPECT_EQ(alternatives[0].at("token"), content[at].at("token")) << "greedy";
}

TEST(LocalGateway, RemoteLogprobsPassThroughFromTheMock) {
  Gateway gw(local_config());
  std::string body =
      R"({"model":"remote","logprobs":true,"top_logprobs":2,"messages":[{"role":"user","content":"hi"}]})";
  HttpResult r = chat(gw, body);
  ASSERT_EQ(r.status, 200) << r.body;
  auto answer = parse_object(r.body);
  const auto& content =
      logprobs_of(answer["choices"].as_array()[0].as_object()).at("content").as_array();
  std::string text;
  for (const auto& entry : content) text += check_entry(entry, 2);
  EXPECT_EQ(text, content_of(r)) << "one entry per mock token";
  EXPECT_EQ(content.size(), 5u) << "Hello from the mock upstream.";
  // The same values again: deterministic.
  EXPECT_EQ(parse_object(chat(gw, body).body)["choices"], answer["choices"]);
  // A script sets the logprob; streams carry each chunk's entries.
  HttpResult s = chat(
      gw,
      R"({"model":"remote","stream":true,"logprobs":true,"messages":[{"role":"user","content":"#mock logprob=-0.25"}]})");
  ASSERT_EQ(s.status, 200) << s.body;
  std::size_t entries = 0;
  for (const auto& data : sse_data(s.body)) {
    if (data == "[DONE]") break;
    auto chunk = parse_object(data);
    auto& choices = chunk["choices"].as_array();
    if (choices.empty() || logprobs_of(choices[0].as_object()).is_null()) continue;
    for (const auto& entry : logprobs_of(choices[0].as_object()).at("content").as_array()) {
      EXPECT_DOUBLE_EQ(entry.at("logprob").to_number<double>(), -0.25);
      EXPECT_EQ(entry.at("token"), choices[0].at("delta").at("content"));
      ++entries;
    }
  }
  EXPECT_EQ(entries, 5u);
  // Without logprobs the mock answers as it always did.
  HttpResult plain = chat(gw, R"({"model":"remote","messages":[{"role":"user","content":"hi"}]})");
  EXPECT_TRUE(logprobs_of(parse_object(plain.body)["choices"].as_array()[0].as_object()).is_null());
}

TEST(LocalGateway, MissingModelFileStopsTheStartNamingTheFile) {
  std::string toml = local_config();
  replace_all(toml, tiny_model_path(), "/nonexistent/dir/tiny.gguf");
  try {
    Gateway gw(toml);
    FAIL() << "the gateway started without its model";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/tiny.gguf"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace tandem::testing
