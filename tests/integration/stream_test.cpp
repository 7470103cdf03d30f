// Streamed chat: exact shapes and usage, fallback before the first byte, error events after it,
// and cancellation when the client goes away.
#include <boost/json.hpp>
#include <thread>

#include "gateway_fixture.h"

namespace tandem::testing {
namespace {

namespace json = boost::json;

std::string stream_body(const std::string& content, bool include_usage = false,
                        const std::string& model = "m") {
  std::string b = R"({"model":")" + model +
                  R"(","stream":true,"messages":[{"role":"user","content":")" + content + "\"}]";
  if (include_usage) b += R"(,"stream_options":{"include_usage":true})";
  return b + "}";
}

std::string joined_content(const std::vector<std::string>& events) {
  std::string text;
  for (const auto& e : events) {
    if (e == "[DONE]") continue;
    json::object o = json::parse(e).as_object();
    for (auto& c : o["choices"].as_array()) {
      auto& delta = c.as_object()["delta"].as_object();
      if (auto* content = delta.if_contains("content"); content && content->is_string())
        text += content->as_string();
    }
  }
  return text;
}

TEST(Stream, EqualsTheNonStreamedAnswerAndEndsWithDone) {
  Gateway gw(basic_config());
  HttpResult s = gw.chat(stream_body("hello there"));
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_TRUE(s.complete);
  EXPECT_EQ(s.header("content-type"), "text/event-stream");
  EXPECT_EQ(s.header("x-tandem-route"), "up:up-model");
  auto events = sse_data(s.body);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back(), "[DONE]");
  EXPECT_EQ(joined_content(events), "Hello from the mock upstream.");
  // The client did not ask for usage: no chunk carries a usage member, though Tandem asked the
  // upstream for it to charge exactly.
  for (const auto& e : events) EXPECT_EQ(e.find("\"usage\""), std::string::npos) << e;
  json::object sent = json::parse(gw.mock.received().at(0).body).as_object();
  EXPECT_EQ(sent["stream_options"].as_object()["include_usage"], true);
  // Cost arrives as HTTP trailers and as an SSE comment.
  EXPECT_EQ(s.trailers["x-tandem-cost-usd"], "0.00000375");
  EXPECT_EQ(s.trailers["x-tandem-completion-tokens"], "5");
  EXPECT_NE(s.body.find(": tandem route=up:up-model cost_usd=0.00000375"), std::string::npos);
  EXPECT_EQ(gw.metric(R"(tandem_tokens_total{model="m",route="up:up-model",type="completion"})"),
            5);
}

TEST(Stream, IncludeUsageGivesTheExactFinalUsageChunk) {
  Gateway gw(basic_config());
  HttpResult s = gw.chat(stream_body("one two three", true));
  ASSERT_EQ(s.status, 200);
  auto events = sse_data(s.body);
  ASSERT_GE(events.size(), 3u);
  json::object usage_chunk = json::parse(events[events.size() - 2]).as_object();
  EXPECT_TRUE(usage_chunk["choices"].as_array().empty());
  EXPECT_EQ(usage_chunk["usage"].as_object()["prompt_tokens"], 6);
  EXPECT_EQ(usage_chunk["usage"].as_object()["completion_tokens"], 5);
}

TEST(Stream, ToolCallsStreamThrough) {
  Gateway gw(basic_config());
  gw.mock.push(Script{.tool_call = true});
  HttpResult s = gw.chat(stream_body("weather"));
  ASSERT_EQ(s.status, 200);
  EXPECT_NE(s.body.find("get_weather"), std::string::npos);
  EXPECT_NE(s.body.find("\"finish_reason\":\"tool_calls\""), std::string::npos);
}

TEST(Stream, FailureBeforeTheFirstEventFallsBackInvisibly) {
  Gateway gw(basic_config() + R"(
[providers.other]
kind = "openai"
base_url = "{MOCK2}"
[models.chain]
routes = [{ provider = "up", model = "a" }, { provider = "other", model = "b" }]
)");
  for (int i = 0; i < 3; ++i) gw.mock.push(Script{.status = 502});
  HttpResult s = gw.chat(stream_body("hi", false, "chain"));
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_EQ(s.header("x-tandem-route"), "other:b");
  EXPECT_EQ(sse_data(s.body).back(), "[DONE]");
  // An upstream that errors in its very first event also counts as a failure before any byte.
  gw.mock.push(Script{.error_after = 0});
  s = gw.chat(stream_body("hi", false, "chain"));
  EXPECT_EQ(s.header("x-tandem-attempts"), "up:a=server_error;up:a=ok");
  EXPECT_EQ(sse_data(s.body).back(), "[DONE]");
}

TEST(Stream, AllRoutesFailingBeforeAnyByteIsAPlainHttpError) {
  Gateway gw(basic_config("max_retries = 0"));
  gw.mock.push(Script{.status = 500});
  HttpResult s = gw.chat(stream_body("hi"));
  EXPECT_EQ(s.status, 502);
  EXPECT_EQ(s.header("content-type"), "application/json");
}

TEST(Stream, CutMidwayEndsWithAnErrorEventNeverASilentSuccess) {
  Gateway gw(basic_config());
  gw.mock.push(Script{.cut_after = 2});
  TestConnection c(gw.port);
  ASSERT_TRUE(c.send_raw(build_request("POST", "/v1/chat/completions", stream_body("hi"))));
  auto s = c.read_response();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->status, 200);
  auto events = sse_data(s->body);
  ASSERT_FALSE(events.empty());
  EXPECT_NE(events.back(), "[DONE]");
  json::object err = json::parse(events.back()).as_object();
  EXPECT_EQ(err["error"].as_object()["code"], "stream_interrupted");
  EXPECT_EQ(joined_content({events.begin(), events.end() - 1}), "Hello from");
  EXPECT_TRUE(c.wait_closed(2000));  // and the connection closes
  EXPECT_EQ(gw.metric(R"(tandem_stream_errors_total{model="m",route="up:up-model"})"), 1);
}

TEST(Stream, UpstreamErrorEventMidwayIsRelayedAsAnErrorEvent) {
  Gateway gw(basic_config());
  gw.mock.push(Script{.error_message = "model crashed", .error_after = 3});
  HttpResult s = gw.chat(stream_body("hi"));
  auto events = sse_data(s.body);
  ASSERT_FALSE(events.empty());
  EXPECT_NE(events.back().find("model crashed"), std::string::npos) << events.back();
  EXPECT_EQ(s.body.find("[DONE]"), std::string::npos);
}

TEST(Stream, SlowTokensBeyondTheIdleTimeoutEndWithAnErrorEvent) {
  Gateway gw(basic_config("stream_idle_timeout_ms = 100"));
  gw.mock.push(Script{.token_delay_ms = 400});
  HttpResult s = gw.chat(stream_body("hi"));
  auto events = sse_data(s.body);
  ASSERT_FALSE(events.empty());
  EXPECT_NE(events.back().find("upstream sent no event for 100 ms"), std::string::npos)
      << events.back();
}

TEST(Stream, SlowTokensWithinTheIdleTimeoutComplete) {
  Gateway gw(basic_config("stream_idle_timeout_ms = 2000"));
  gw.mock.push(Script{.token_delay_ms = 30});
  HttpResult s = gw.chat(stream_body("hi"));
  EXPECT_EQ(sse_data(s.body).back(), "[DONE]");
}

TEST(Stream, PlainJsonAnswerToAStreamRequestIsAFailureNotARelay) {
  Gateway gw(basic_config("max_retries = 0"));
  gw.mock.push(Script{.json_for_stream = true});
  HttpResult s = gw.chat(stream_body("hi"));
  EXPECT_EQ(s.status, 502);
  EXPECT_NE(s.body.find("protocol_error"), std::string::npos) << s.body;
}

// Waits until the mock has no open connection (the gateway dropped its upstream request).
bool upstream_released(Gateway& gw, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 20) {
    if (gw.mock.open_connections() == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

TEST(Cancellation, ClientLeavingAStreamCancelsTheUpstreamRequest) {
  Gateway gw(basic_config("max_idle_connections = 0"));
  Script slow{.content = "a b c d e f g h i j k l m n o p q r s t", .token_delay_ms = 300};
  gw.mock.push(slow);
  {
    TestConnection c(gw.port);
    ASSERT_TRUE(c.send_raw(build_request("POST", "/v1/chat/completions", stream_body("hi"))));
    auto first = c.read_until(
        [](const std::string& body) { return body.find("\"a\"") != std::string::npos; });
    ASSERT_TRUE(first);
    EXPECT_EQ(gw.mock.open_connections(), 1);
  }  // the client disconnects with 19 slow tokens (about 6 s) still to come
  EXPECT_TRUE(upstream_released(gw, 4000));
}

TEST(Cancellation, ClientLeavingBeforeTheAnswerCancelsTheUpstreamRequest) {
  Gateway gw(basic_config("max_idle_connections = 0"));
  gw.mock.push(Script{.delay_ms = 10000});
  {
    TestConnection c(gw.port);
    ASSERT_TRUE(
        c.send_raw(build_request("POST", "/v1/chat/completions",
                                 R"({"model":"m","messages":[{"role":"user","content":"x"}]})")));
    for (int i = 0; i < 100 && gw.mock.request_count() == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_EQ(gw.mock.request_count(), 1u);
  }
  EXPECT_TRUE(upstream_released(gw, 5000));
  EXPECT_EQ(
      gw.metric(
          R"(tandem_upstream_attempts_total{model="m",route="up:up-model",outcome="cancelled"})"),
      1);
}

}  // namespace
}  // namespace tandem::testing
