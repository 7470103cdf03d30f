// Hostile and broken input: the right error or a closed connection, never a crash or a hang, and
// the server keeps serving everybody else.
#include <boost/json.hpp>
#include <thread>

#include "gateway_fixture.h"

namespace tandem::testing {
namespace {

namespace json = boost::json;

std::string hostile_config() {
  return basic_config("", R"(
max_body_bytes = 65536
max_header_bytes = 4096
read_timeout_ms = 300
idle_timeout_ms = 1000
)");
}

std::string error_code(const HttpResult& r) {
  auto v = json::parse(r.body);
  auto& code = v.as_object()["error"].as_object()["code"];
  return code.is_null() ? "" : std::string(code.as_string());
}

void expect_still_serving(Gateway& gw) {
  HttpResult ok = gw.chat(R"({"model":"m","messages":[{"role":"user","content":"still there?"}]})");
  EXPECT_EQ(ok.status, 200) << ok.body;
}

TEST(HostileInput, MalformedAndTruncatedJson) {
  Gateway gw(hostile_config());
  for (const char* body : {"{", "{\"model\":", "not json", "{\"model\":\"m\",}", "[1,2",
                           "{} trailing", "\"just a string\"", "42", "null"}) {
    HttpResult r = gw.chat(body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_EQ(json::parse(r.body).as_object()["error"].as_object()["type"],
              "invalid_request_error");
  }
  EXPECT_EQ(error_code(gw.chat("{\"model\":")), "invalid_json");
  EXPECT_EQ(gw.mock.request_count(), 0u);
  expect_still_serving(gw);
}

TEST(HostileInput, WrongTypesNameTheField) {
  Gateway gw(hostile_config());
  struct Case {
    const char* body;
    const char* param;
  };
  for (auto c :
       {Case{R"({"model":5,"messages":[]})", "model"},
        Case{R"({"model":"m","messages":"hi"})", "messages"},
        Case{R"({"model":"m","messages":[{"role":"user","content":1}]})", "messages[0].content"},
        Case{R"({"model":"m","messages":[{"role":"user","content":"x"}],"temperature":"hot"})",
             "temperature"},
        Case{R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":-1})",
             "max_tokens"},
        Case{R"({"model":"m","messages":[{"role":"user","content":"x"}],"stream":"yes"})",
             "stream"}}) {
    HttpResult r = gw.chat(c.body);
    ASSERT_EQ(r.status, 400) << c.body;
    EXPECT_EQ(json::parse(r.body).as_object()["error"].as_object()["param"], c.param) << r.body;
  }
  expect_still_serving(gw);
}

TEST(HostileInput, EmptyBodyDeepNestingAndInvalidUtf8) {
  Gateway gw(hostile_config());
  EXPECT_EQ(gw.chat("").status, 400);
  std::string deep(5000, '[');
  HttpResult r = gw.chat(deep);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("nesting"), std::string::npos) << r.body;
  std::string bad_utf8 =
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\xff\xfe\"}]}";
  r = gw.chat(bad_utf8);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("UTF-8"), std::string::npos) << r.body;
  expect_still_serving(gw);
}

TEST(HostileInput, HugeBodyIs413WithoutReadingIt) {
  Gateway gw(hostile_config());
  std::string huge = R"({"model":"m","messages":[{"role":"user","content":")" +
                     std::string(200'000, 'a') + "\"}]}";
  HttpResult r = gw.chat(huge);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(error_code(r), "request_too_large");
  // Announced by Content-Length alone, before any body byte is sent.
  TestConnection c(gw.port);
  ASSERT_TRUE(c.send_raw(
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n"));
  auto early = c.read_response(5000);
  ASSERT_TRUE(early);
  EXPECT_EQ(early->status, 413);
  expect_still_serving(gw);
}

TEST(HostileInput, ChunkedBodyOverTheLimitIs413) {
  Gateway gw(hostile_config());
  TestConnection c(gw.port);
  ASSERT_TRUE(c.send_raw(
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
  std::string chunk(16384, 'x');
  char size[16];
  std::snprintf(size, sizeof size, "%zx\r\n", chunk.size());
  bool sent = true;
  for (int i = 0; i < 8 && sent; ++i) sent = c.send_raw(std::string(size) + chunk + "\r\n");
  auto r = c.read_response(5000);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  expect_still_serving(gw);
}

TEST(HostileInput, HugeHeadersAre431) {
  Gateway gw(hostile_config());
  HttpResult r = gw.post("/v1/chat/completions", "{}", {{"X-Junk", std::string(8000, 'j')}});
  EXPECT_EQ(r.status, 431);
  expect_still_serving(gw);
}

TEST(HostileInput, GarbageRequestLinesAre400AndClose) {
  Gateway gw(hostile_config());
  for (std::string garbage :
       {std::string("HELLO\r\n\r\n"), std::string("GET / HTTP/9.9\r\n\r\n"),
        std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 15),
        std::string("POST /v1/chat/completions HTTP/1.1\r\nContent-Length: abc\r\n\r\n")}) {
    TestConnection c(gw.port);
    ASSERT_TRUE(c.send_raw(garbage));
    auto r = c.read_response(3000);
    if (r) {
      EXPECT_EQ(r->status, 400) << garbage;
    }
    EXPECT_TRUE(c.wait_closed(3000));
  }
  expect_still_serving(gw);
}

TEST(HostileInput, SlowLorisIsCutOffAndOthersAreServedMeanwhile) {
  Gateway gw(hostile_config());
  std::vector<std::unique_ptr<TestConnection>> lorises;
  for (int i = 0; i < 50; ++i) {
    auto c = std::make_unique<TestConnection>(gw.port);
    ASSERT_TRUE(c->send_raw("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Slow: "));
    lorises.push_back(std::move(c));
  }
  expect_still_serving(gw);  // while 50 connections dribble their headers
  for (auto& c : lorises) c->send_raw("a");
  // read_timeout_ms = 300: each is closed, however slowly it keeps sending.
  for (auto& c : lorises) EXPECT_TRUE(c->wait_closed(3000));
  expect_still_serving(gw);
}

TEST(HostileInput, ClientThatStopsMidBodyIsCutOff) {
  Gateway gw(hostile_config());
  TestConnection c(gw.port);
  ASSERT_TRUE(c.send_raw(
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"mo"));
  EXPECT_TRUE(c.wait_closed(3000));
  EXPECT_EQ(gw.mock.request_count(), 0u);
}

TEST(HostileInput, ManyAbruptDisconnectsLeaveTheServerHealthy) {
  Gateway gw(hostile_config());
  for (int i = 0; i < 200; ++i) {
    TestConnection c(gw.port);
    c.send_raw(i % 2 ? "POST /v1/chat/completions HTTP/1.1\r\nContent-Length: 50\r\n\r\n{"
                     : "GET /heal");
  }
  expect_still_serving(gw);
  for (int i = 0; i < 50 && gw.server->open_connections() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(gw.server->open_connections(), 0);
}

}  // namespace
}  // namespace tandem::testing
