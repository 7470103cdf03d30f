#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "tandem/api/chat_request.h"

using namespace tandem;
using tandem::api::ChatRequest;
using tandem::api::parse_chat_request;

namespace {

constexpr int kDepth = 64;

ChatRequest must_parse(std::string_view body, int max_depth = kDepth) {
  auto r = parse_chat_request(body, max_depth);
  if (auto* e = std::get_if<core::ApiError>(&r)) {
    ADD_FAILURE() << body << " -> " << e->status << " " << e->param << ": " << e->message;
    return ChatRequest{};
  }
  return std::get<ChatRequest>(std::move(r));
}

core::ApiError must_fail(std::string_view body, int max_depth = kDepth) {
  auto r = parse_chat_request(body, max_depth);
  if (auto* e = std::get_if<core::ApiError>(&r)) return *e;
  ADD_FAILURE() << body << " was accepted";
  return core::ApiError{};
}

// A valid request with `extra` members added to the top-level object.
std::string with(std::string_view extra) {
  std::string body = R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}])";
  if (!extra.empty()) {
    body += ',';
    body += extra;
  }
  body += '}';
  return body;
}

// A request whose messages array is `messages`.
std::string with_messages(std::string_view messages) {
  return R"({"model":"m","messages":)" + std::string(messages) + "}";
}

void expect_param(const std::string& body, std::string_view param) {
  core::ApiError e = must_fail(body);
  EXPECT_EQ(e.status, 400) << body;
  EXPECT_EQ(e.type, "invalid_request_error") << body;
  EXPECT_EQ(e.param, param) << body << " -> " << e.message;
  EXPECT_EQ(e.code, "invalid_request") << body;
  // The message names the field too.
  EXPECT_TRUE(e.message.starts_with(std::string(param) + ":")) << e.message;
}

void expect_invalid_json(std::string_view body, std::string_view message_part = {},
                         int max_depth = kDepth) {
  core::ApiError e = must_fail(body, max_depth);
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.type, "invalid_request_error");
  EXPECT_EQ(e.code, "invalid_json") << e.message;
  EXPECT_EQ(e.param, "");
  if (!message_part.empty()) {
    EXPECT_NE(e.message.find(message_part), std::string::npos) << e.message;
  }
}

}  // namespace

TEST(ChatRequest, MinimalValidRequest) {
  ChatRequest r = must_parse(with(""));
  EXPECT_EQ(r.model, "gpt-4o-mini");
  EXPECT_FALSE(r.stream);
  EXPECT_FALSE(r.include_usage);
  ASSERT_TRUE(r.body.contains("messages"));
  EXPECT_EQ(r.body.at("messages").as_array().size(), 1u);
}

TEST(ChatRequest, FullValidRequestKeepsEveryField) {
  std::string body = R"({
    "model": "gpt-4o",
    "messages": [
      {"role": "system", "content": "be brief"},
      {"role": "developer", "content": "x"},
      {"role": "user", "content": [{"type": "text", "text": "hi"},
                                   {"type": "image_url", "image_url": {"url": "https://x/y.png"}}],
       "name": "alice"},
      {"role": "assistant", "content": null,
       "tool_calls": [{"id": "call_1", "type": "function",
                       "function": {"name": "f", "arguments": "{}"}}]},
      {"role": "tool", "tool_call_id": "call_1", "content": "42"},
      {"role": "assistant"},
      {"role": "function", "name": "f", "content": "old style"}
    ],
    "temperature": 0.7, "top_p": 1, "presence_penalty": -2, "frequency_penalty": 2.0,
    "n": 2, "max_tokens": 100, "max_completion_tokens": 200, "seed": -5, "top_logprobs": 20,
    "logprobs": true, "user": "u-1", "logit_bias": {"50256": -100}, "metadata": {"k": "v"},
    "parallel_tool_calls": false, "stop": ["a", "b", "c", "d"],
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}},
              {"type": "web_search"}],
    "tool_choice": {"type": "function", "function": {"name": "f"}},
    "response_format": {"type": "json_schema", "json_schema": {"name": "s", "schema": {}}},
    "x_vendor_extension": {"anything": [1, 2, 3]}
  })";
  ChatRequest r = must_parse(body);
  EXPECT_EQ(r.model, "gpt-4o");
  EXPECT_FALSE(r.stream);
  // Unknown fields pass through intact.
  ASSERT_TRUE(r.body.contains("x_vendor_extension"));
  EXPECT_EQ(boost::json::serialize(r.body.at("x_vendor_extension")), R"({"anything":[1,2,3]})");
  EXPECT_EQ(r.body.at("messages").as_array().size(), 7u);
  EXPECT_EQ(r.body.at("tools").as_array().size(), 2u);
}

TEST(ChatRequest, StreamAndIncludeUsage) {
  ChatRequest r = must_parse(with(R"("stream":true,"stream_options":{"include_usage":true})"));
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);

  r = must_parse(with(R"("stream":true,"stream_options":{"include_usage":false})"));
  EXPECT_TRUE(r.stream);
  EXPECT_FALSE(r.include_usage);

  r = must_parse(with(R"("stream":true)"));
  EXPECT_TRUE(r.stream);
  EXPECT_FALSE(r.include_usage);

  r = must_parse(with(R"("stream":true,"stream_options":{})"));
  EXPECT_FALSE(r.include_usage);

  r = must_parse(with(R"("stream":false)"));
  EXPECT_FALSE(r.stream);

  r = must_parse(with(R"("stream":null,"stream_options":null)"));
  EXPECT_FALSE(r.stream);
}

TEST(ChatRequest, StreamOptionsErrors) {
  expect_param(with(R"("stream_options":{"include_usage":true})"), "stream_options");
  expect_param(with(R"("stream":false,"stream_options":{"include_usage":true})"), "stream_options");
  expect_param(with(R"("stream":true,"stream_options":true)"), "stream_options");
  expect_param(with(R"("stream":true,"stream_options":{"include_usage":"yes"})"),
               "stream_options.include_usage");
  expect_param(with(R"("stream":"true")"), "stream");
  expect_param(with(R"("stream":1)"), "stream");
}

TEST(ChatRequest, ModelErrors) {
  expect_param(R"({"messages":[{"role":"user","content":"hi"}]})", "model");
  expect_param(R"({"model":"","messages":[{"role":"user","content":"hi"}]})", "model");
  expect_param(R"({"model":5,"messages":[{"role":"user","content":"hi"}]})", "model");
  expect_param(R"({"model":null,"messages":[{"role":"user","content":"hi"}]})", "model");
}

TEST(ChatRequest, MessagesErrors) {
  expect_param(R"({"model":"m"})", "messages");
  expect_param(with_messages("[]"), "messages");
  expect_param(with_messages(R"("hi")"), "messages");
  expect_param(with_messages(R"({"role":"user"})"), "messages");
  expect_param(with_messages(R"([{"role":"user","content":"a"},"b"])"), "messages[1]");
  expect_param(with_messages(R"([{"role":"user","content":"a"},{"content":"b"}])"),
               "messages[1].role");
  expect_param(with_messages(R"([{"role":"user","content":"a"},{"role":"robot","content":"b"}])"),
               "messages[1].role");
  expect_param(with_messages(R"([{"role":7,"content":"a"}])"), "messages[0].role");
  expect_param(with_messages(R"([{"role":"User","content":"a"}])"), "messages[0].role");
  expect_param(with_messages(R"([{"role":"user"}])"), "messages[0].content");
  expect_param(with_messages(R"([{"role":"user","content":null}])"), "messages[0].content");
  expect_param(with_messages(R"([{"role":"user","content":1}])"), "messages[0].content");
  expect_param(with_messages(R"([{"role":"user","content":{"text":"a"}}])"), "messages[0].content");
  expect_param(with_messages(R"([{"role":"user","content":["a"]}])"), "messages[0].content[0]");
  expect_param(with_messages(R"([{"role":"user","content":[{"type":"text"},{"text":"x"}]}])"),
               "messages[0].content[1].type");
  expect_param(with_messages(R"([{"role":"user","content":[{"type":3}]}])"),
               "messages[0].content[0].type");
  expect_param(with_messages(R"([{"role":"tool","content":"42"}])"), "messages[0].tool_call_id");
  expect_param(with_messages(R"([{"role":"tool","content":"42","tool_call_id":1}])"),
               "messages[0].tool_call_id");
  expect_param(with_messages(R"([{"role":"user","content":"a","name":5}])"), "messages[0].name");
}

TEST(ChatRequest, RoleErrorQuotesTheRoleShortened) {
  std::string role(500, 'r');
  core::ApiError e = must_fail(with_messages(R"([{"role":")" + role + R"(","content":"a"}])"));
  EXPECT_EQ(e.param, "messages[0].role");
  EXPECT_NE(e.message.find("got '" + std::string(40, 'r') + "'"), std::string::npos) << e.message;
  EXPECT_LT(e.message.size(), 200u);
}

TEST(ChatRequest, ToolCallErrors) {
  expect_param(with_messages(R"([{"role":"user","content":"a","tool_calls":[]}])"),
               "messages[0].tool_calls");
  expect_param(with_messages(R"([{"role":"assistant","tool_calls":{}}])"),
               "messages[0].tool_calls");
  expect_param(with_messages(R"([{"role":"assistant","tool_calls":[1]}])"),
               "messages[0].tool_calls[0]");
  expect_param(
      with_messages(
          R"([{"role":"assistant","tool_calls":[{"id":"a","function":{}},{"function":{}}]}])"),
      "messages[0].tool_calls[1].id");
  expect_param(with_messages(R"([{"role":"assistant","tool_calls":[{"id":"a"}]}])"),
               "messages[0].tool_calls[0].function");
  expect_param(with_messages(R"([{"role":"assistant","tool_calls":[{"id":"a","function":"f"}]}])"),
               "messages[0].tool_calls[0].function");
  // null tool_calls is the same as none, even on a user message.
  must_parse(with_messages(R"([{"role":"user","content":"a","tool_calls":null}])"));
}

TEST(ChatRequest, SamplingParameterRanges) {
  expect_param(with(R"("temperature":2.5)"), "temperature");
  expect_param(with(R"("temperature":-0.1)"), "temperature");
  expect_param(with(R"("temperature":"hot")"), "temperature");
  expect_param(with(R"("top_p":1.01)"), "top_p");
  expect_param(with(R"("presence_penalty":-2.5)"), "presence_penalty");
  expect_param(with(R"("frequency_penalty":3)"), "frequency_penalty");
  must_parse(with(R"("temperature":0,"top_p":0,"presence_penalty":2,"frequency_penalty":-2)"));
  must_parse(with(R"("temperature":2,"top_p":1)"));
  must_parse(with(R"("temperature":null)"));
}

TEST(ChatRequest, IntegerParameters) {
  expect_param(with(R"("n":0)"), "n");
  expect_param(with(R"("n":129)"), "n");
  expect_param(with(R"("n":1.5)"), "n");
  expect_param(with(R"("n":"2")"), "n");
  expect_param(with(R"("max_tokens":0)"), "max_tokens");
  expect_param(with(R"("max_tokens":-1)"), "max_tokens");
  expect_param(with(R"("max_tokens":2147483649)"), "max_tokens");
  expect_param(with(R"("max_tokens":18446744073709551615)"), "max_tokens");
  expect_param(with(R"("max_completion_tokens":0)"), "max_completion_tokens");
  expect_param(with(R"("top_logprobs":21)"), "top_logprobs");
  expect_param(with(R"("seed":"1")"), "seed");
  expect_param(with(R"("seed":0.5)"), "seed");
  // An integral double is an integer.
  must_parse(with(R"("n":3.0,"max_tokens":2147483648,"seed":9223372036854775807)"));
  must_parse(with(R"("seed":-9223372036854775808,"top_logprobs":0)"));
}

TEST(ChatRequest, Logprobs) {
  ChatRequest none = must_parse(with(""));
  EXPECT_FALSE(none.logprobs);
  EXPECT_EQ(none.top_logprobs, 0);
  ChatRequest on = must_parse(with(R"("logprobs":true)"));
  EXPECT_TRUE(on.logprobs);
  EXPECT_EQ(on.top_logprobs, 0);
  ChatRequest top = must_parse(with(R"("logprobs":true,"top_logprobs":20)"));
  EXPECT_TRUE(top.logprobs);
  EXPECT_EQ(top.top_logprobs, 20);
  EXPECT_EQ(must_parse(with(R"("top_logprobs":5.0,"logprobs":true)")).top_logprobs, 5);
  ChatRequest off = must_parse(with(R"("logprobs":false,"top_logprobs":0)"));
  EXPECT_FALSE(off.logprobs);
  must_parse(with(R"("logprobs":null,"top_logprobs":null)"));
  // The fields stay in the body for the provider.
  EXPECT_EQ(top.body.at("top_logprobs"), 20);
  expect_param(with(R"("logprobs":true,"top_logprobs":21)"), "top_logprobs");
  expect_param(with(R"("logprobs":true,"top_logprobs":-1)"), "top_logprobs");
  expect_param(with(R"("logprobs":true,"top_logprobs":"3")"), "top_logprobs");
  expect_param(with(R"("logprobs":true,"top_logprobs":2.5)"), "top_logprobs");
  // Alternatives only come with logprobs, as in OpenAI's API.
  expect_param(with(R"("top_logprobs":3)"), "top_logprobs");
  expect_param(with(R"("logprobs":false,"top_logprobs":1)"), "top_logprobs");
  expect_param(with(R"("logprobs":1)"), "logprobs");
}

TEST(ChatRequest, SeedBeyondInt64IsRejectedWithoutOverflow) {
  expect_param(with(R"("seed":18446744073709551615)"), "seed");
  expect_param(with(R"("seed":9223372036854775808)"), "seed");
}

TEST(ChatRequest, OptionalKinds) {
  expect_param(with(R"("logprobs":"yes")"), "logprobs");
  expect_param(with(R"("user":5)"), "user");
  expect_param(with(R"("logit_bias":[])"), "logit_bias");
  expect_param(with(R"("metadata":"x")"), "metadata");
  expect_param(with(R"("parallel_tool_calls":1)"), "parallel_tool_calls");
  must_parse(with(R"("logprobs":null,"user":null,"logit_bias":null)"));
}

TEST(ChatRequest, Stop) {
  must_parse(with(R"("stop":"END")"));
  must_parse(with(R"("stop":[])"));
  must_parse(with(R"("stop":null)"));
  expect_param(with(R"("stop":["a","b","c","d","e"])"), "stop");
  expect_param(with(R"("stop":["a",1])"), "stop");
  expect_param(with(R"("stop":5)"), "stop");
}

TEST(ChatRequest, Tools) {
  expect_param(with(R"("tools":{})"), "tools");
  expect_param(with(R"("tools":[1])"), "tools[0]");
  expect_param(with(R"("tools":[{"function":{"name":"f"}}])"), "tools[0].type");
  expect_param(with(R"("tools":[{"type":"function"}])"), "tools[0].function");
  expect_param(with(R"("tools":[{"type":"function","function":{}}])"), "tools[0].function.name");
  expect_param(with(R"("tools":[{"type":"function","function":{"name":""}}])"),
               "tools[0].function.name");
  expect_param(with(R"("tools":[{"type":"function","function":{"name":"ok"}},)"
                    R"({"type":"function","function":{"name":7}}])"),
               "tools[1].function.name");
  expect_param(with(R"("tools":[],"tool_choice":"sometimes")"), "tool_choice");
  expect_param(with(R"("tools":[],"tool_choice":5)"), "tool_choice");
  for (const char* choice : {"none", "auto", "required"}) {
    must_parse(with(R"("tool_choice":")" + std::string(choice) + "\""));
  }
  must_parse(with(R"("tools":null,"tool_choice":null)"));
}

TEST(ChatRequest, ToolChoiceIsCheckedWithoutTools) {
  expect_param(with(R"("tool_choice":5)"), "tool_choice");
  expect_param(with(R"("tool_choice":"sometimes")"), "tool_choice");
}

TEST(ChatRequest, ResponseFormat) {
  must_parse(with(R"("response_format":{"type":"text"})"));
  must_parse(with(R"("response_format":{"type":"json_object"})"));
  expect_param(with(R"("response_format":"json")"), "response_format");
  expect_param(with(R"("response_format":{})"), "response_format.type");
  expect_param(with(R"("response_format":{"type":"yaml"})"), "response_format.type");
  expect_param(with(R"("response_format":{"type":"json_schema"})"), "response_format.json_schema");
  expect_param(with(R"("response_format":{"type":"json_schema","json_schema":{"schema":{}}})"),
               "response_format.json_schema.name");
}

TEST(ChatRequest, FirstErrorIsReported) {
  // Two problems: messages are checked before temperature.
  core::ApiError e = must_fail(R"({"model":"m","messages":[],"temperature":9})");
  EXPECT_EQ(e.param, "messages");
}

TEST(ChatRequest, MalformedJson) {
  for (const char* body : {"{", R"({"model":)", "not json", R"({"model":"m",})", "[1,2",
                           R"({"model":"m" "messages":[]})", "{'model':'m'}"}) {
    SCOPED_TRACE(body);
    expect_invalid_json(body, "malformed JSON");
  }
  expect_invalid_json("", "empty");
}

TEST(ChatRequest, TrailingGarbage) {
  expect_invalid_json(with("") + " trailing", "unexpected data after the document");
  expect_invalid_json(with("") + "{}", "unexpected data after the document");
  expect_invalid_json(with("") + with(""), "unexpected data after the document");
}

TEST(ChatRequest, SurroundingWhitespaceIsNotGarbage) {
  must_parse("  \n" + with("") + " \r\n\t ");
}

TEST(ChatRequest, InvalidUtf8) {
  expect_invalid_json(with_messages("[{\"role\":\"user\",\"content\":\"a\xff\"}]"), "UTF-8");
  expect_invalid_json(with_messages("[{\"role\":\"user\",\"content\":\"\xc3\"}]"), "UTF-8");
  // Overlong encoding of '/' and a lone surrogate encoded in UTF-8.
  expect_invalid_json(with_messages("[{\"role\":\"user\",\"content\":\"\xc0\xaf\"}]"), "UTF-8");
  expect_invalid_json(with_messages("[{\"role\":\"user\",\"content\":\"\xed\xa0\x80\"}]"), "UTF-8");
  // In a key too.
  expect_invalid_json("{\"mod\xfe\":1}", "UTF-8");
  // Valid multi-byte UTF-8 is fine.
  ChatRequest r = must_parse(with_messages(
      "[{\"role\":\"user\",\"content\":\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\"}]"));
  EXPECT_EQ(std::string(r.body.at("messages").as_array()[0].as_object().at("content").as_string()),
            "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80");
}

namespace {
// {"model":"m","messages":[...],"metadata":{"a":{"a":...}}}, `levels` deep in all: the body is
// level 1 and each metadata object one more.
std::string nested(int levels) {
  std::string inner = "1";
  for (int i = 0; i < levels - 1; ++i) inner = "{\"a\":" + inner + "}";
  return with("\"metadata\":" + inner);
}
}  // namespace

TEST(ChatRequest, NestingDeeperThanMaxDepthIsRejected) {
  expect_invalid_json(std::string(5000, '['), "nesting deeper than 64");
  expect_invalid_json(nested(40), "nesting deeper than 16", 16);
  // Exactly max_depth levels are accepted, one more is not.
  must_parse(nested(16), 16);
  expect_invalid_json(nested(17), "nesting deeper than 16", 16);
}

TEST(ChatRequest, NonObjectBody) {
  struct Case {
    const char* body;
    const char* kind;
  };
  for (auto c : {Case{"[]", "array"}, Case{"\"text\"", "string"}, Case{"42", "number"},
                 Case{"null", "null"}, Case{"true", "boolean"}}) {
    core::ApiError e = must_fail(c.body);
    EXPECT_EQ(e.status, 400);
    EXPECT_EQ(e.code, "invalid_json");
    EXPECT_EQ(e.message, std::string("request body: expected a JSON object, got ") + c.kind);
  }
}

TEST(ChatRequest, ErrorMessagesNameTheExpectedAndActualType) {
  core::ApiError e = must_fail(with(R"("temperature":"hot")"));
  EXPECT_EQ(e.message, "temperature: expected a number, got string");
  e = must_fail(with_messages(R"([{"role":"user","content":[1]}])"));
  EXPECT_EQ(e.message, "messages[0].content[0]: expected a content part object, got number");
}
