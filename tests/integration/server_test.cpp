// The HTTP server itself: keep-alive, pipelining, idle timeout and graceful shutdown.
#include <future>
#include <thread>

#include "gateway_fixture.h"

namespace tandem::testing {
namespace {

constexpr const char* kChat = R"({"model":"m","messages":[{"role":"user","content":"hi"}]})";

TEST(Server, KeepAliveServesManyRequestsOnOneConnection) {
  Gateway gw(basic_config());
  TestConnection c(gw.port);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(c.send_raw(build_request("POST", "/v1/chat/completions", kChat)));
    auto r = c.read_response();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->status, 200);
  }
}

TEST(Server, PipelinedRequestsAreAnsweredInOrder) {
  Gateway gw(basic_config());
  TestConnection c(gw.port);
  std::string both = build_request("GET", "/health", "") + build_request("GET", "/v1/models", "") +
                     build_request("GET", "/nope", "");
  ASSERT_TRUE(c.send_raw(both));
  auto a = c.read_response(), b = c.read_response(), d = c.read_response();
  ASSERT_TRUE(a && b && d);
  EXPECT_EQ(a->body, R"({"status":"ok"})");
  EXPECT_NE(b->body.find("\"object\":\"list\""), std::string::npos);
  EXPECT_EQ(d->status, 404);
}

TEST(Server, ExpectContinueIsAnsweredBeforeTheBody) {
  Gateway gw(basic_config());
  TestConnection c(gw.port);
  std::string body = kChat;
  ASSERT_TRUE(
      c.send_raw("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                 "Content-Type: application/json\r\nContent-Length: " +
                 std::to_string(body.size()) + "\r\n\r\n"));
  auto interim = c.read_response(2000);  // without the 100, the client would wait
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(c.send_raw(body));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
}

TEST(Server, Http10StreamsAreNotChunked) {
  Gateway gw(basic_config());
  TestConnection c(gw.port);
  std::string body = R"({"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]})";
  ASSERT_TRUE(c.send_raw("POST /v1/chat/completions HTTP/1.0\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\n\r\n" + body));
  // No length and no chunks: the body runs to the end of the connection.
  std::string raw = c.read_to_close(5000);
  EXPECT_TRUE(raw.starts_with("HTTP/1.0 200 OK\r\n")) << raw;
  EXPECT_EQ(raw.find("Transfer-Encoding"), std::string::npos);
  EXPECT_NE(raw.find("\r\n\r\ndata: {"), std::string::npos);
  EXPECT_TRUE(raw.ends_with("data: [DONE]\n\n")) << raw.substr(raw.size() - 40);
}

TEST(Server, ConnectionCloseIsHonoured) {
  Gateway gw(basic_config());
  TestConnection c(gw.port);
  ASSERT_TRUE(c.send_raw("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(c.wait_closed(2000));
}

TEST(Server, IdleKeepAliveConnectionsAreClosed) {
  Gateway gw(basic_config("", "idle_timeout_ms = 200"));
  TestConnection c(gw.port);
  ASSERT_TRUE(c.send_raw(build_request("GET", "/health", "")));
  ASSERT_TRUE(c.read_response());
  EXPECT_TRUE(c.wait_closed(3000));
}

TEST(Server, GracefulStopFinishesInFlightRequestsAndRefusesNewOnes) {
  Gateway gw(basic_config());
  gw.mock.push(Script{.delay_ms = 400});
  auto in_flight = std::async(std::launch::async, [&] { return gw.chat(kChat); });
  while (gw.mock.request_count() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  TestConnection idle(gw.port);  // an idle keep-alive connection: closed at once by the stop
  ASSERT_TRUE(idle.send_raw(build_request("GET", "/health", "")));
  ASSERT_TRUE(idle.read_response());
  std::thread stopper([&] { gw.server->stop(); });
  EXPECT_TRUE(idle.wait_closed(2000));
  HttpResult r = in_flight.get();
  stopper.join();
  EXPECT_EQ(r.status, 200) << r.body;  // drained, not cut
  EXPECT_FALSE(TestConnection(gw.port).connected());
}

TEST(Server, StopCutsWhatOutlastsTheDrainWithALastWord) {
  Gateway gw(basic_config("", "drain_timeout_ms = 200"));
  gw.mock.push(Script{.content = "a b c d e f g h i j k l m n o p", .token_delay_ms = 200});
  TestConnection stream(gw.port);
  std::string body = R"({"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]})";
  ASSERT_TRUE(stream.send_raw(build_request("POST", "/v1/chat/completions", body)));
  auto first =
      stream.read_until([](const std::string& b) { return b.find("\"a\"") != std::string::npos; });
  ASSERT_TRUE(first);
  gw.mock.push(Script{.delay_ms = 5000});
  auto waiting = std::async(std::launch::async, [&] { return gw.chat(kChat); });
  while (gw.mock.request_count() < 2) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  gw.server->stop();                             // neither finishes within 200 ms
  std::string raw = stream.read_to_close(3000);  // the rest of the chunked body, then the close
  HttpResult plain = waiting.get();
  EXPECT_EQ(plain.status, 503) << plain.body;
  EXPECT_NE(plain.body.find("shutting_down"), std::string::npos);
  // The stream ends with an error event, not with [DONE] and not silently.
  EXPECT_NE(raw.find("the server is shutting down"), std::string::npos) << raw;
  EXPECT_EQ(raw.find("[DONE]"), std::string::npos);
}

TEST(Server, ConcurrentClientsAllSucceed) {
  Gateway gw(basic_config());
  std::vector<std::future<int>> results;
  for (int t = 0; t < 8; ++t) {
    results.push_back(std::async(std::launch::async, [&] {
      int ok = 0;
      TestConnection c(gw.port);
      for (int i = 0; i < 50; ++i) {
        if (!c.send_raw(build_request("POST", "/v1/chat/completions", kChat))) break;
        auto r = c.read_response();
        if (r && r->status == 200) ++ok;
      }
      return ok;
    }));
  }
  int total = 0;
  for (auto& f : results) total += f.get();
  EXPECT_EQ(total, 400);
  EXPECT_EQ(gw.metric(R"(tandem_tokens_total{model="m",route="up:up-model",type="prompt"})"),
            400 * 4);
}

}  // namespace
}  // namespace tandem::testing
