// Retries, fallbacks and circuit breakers: what the client sees and what the metrics count.
#include <boost/json.hpp>
#include <thread>

#include "gateway_fixture.h"

namespace tandem::testing {
namespace {

namespace json = boost::json;
constexpr const char* kChat = R"({"model":"chain","messages":[{"role":"user","content":"hi"}]})";

// Two routes on two different mocks: "first" -> mock, "second" -> mock2.
std::string chain_config(const std::string& first_settings = "max_retries = 2") {
  return R"(
[server]
log_level = "error"
[providers.first]
kind = "openai"
base_url = "{MOCK}"
retry_base_delay_ms = 5
retry_max_delay_ms = 300
input_price_per_mtok = 1
output_price_per_mtok = 2
)" + first_settings +
         R"(
[providers.second]
kind = "openai"
base_url = "{MOCK2}"
max_retries = 0
input_price_per_mtok = 0.5
output_price_per_mtok = 0.5
[models.chain]
routes = [{ provider = "first", model = "a" }, { provider = "second", model = "b" }]
[models.other]
routes = [{ provider = "first", model = "a" }]
)";
}

std::string error_message(const HttpResult& r) {
  return std::string(json::parse(r.body).as_object()["error"].as_object()["message"].as_string());
}

TEST(Fallback, RetriesServerErrorsThenFallsBackToTheNextRoute) {
  Gateway gw(chain_config());
  for (int i = 0; i < 3; ++i) gw.mock.push(Script{.status = 500});
  HttpResult r = gw.chat(kChat);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-tandem-route"), "second:b");
  EXPECT_EQ(r.header("x-tandem-attempts"), "first:a=server_error x3;second:b=ok");
  EXPECT_EQ(r.header("x-tandem-cost-usd"), "0.0000045");  // charged at the second route's prices
  EXPECT_EQ(gw.mock.request_count(), 3u);                 // 1 attempt + 2 retries
  EXPECT_EQ(gw.mock2.request_count(), 1u);
  EXPECT_EQ(
      gw.metric(
          R"(tandem_upstream_attempts_total{model="chain",route="first:a",outcome="server_error"})"),
      3);
  EXPECT_EQ(gw.metric(R"(tandem_fallbacks_total{model="chain"})"), 1);
}

TEST(Fallback, RetryAfterWithinTheLimitIsHonouredOnTheSameRoute) {
  Gateway gw(chain_config());
  gw.mock.push(Script{.status = 429, .retry_after = "0.05"});
  HttpResult r = gw.chat(kChat);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-tandem-route"), "first:a");
  EXPECT_EQ(gw.mock.request_count(), 2u);
  EXPECT_EQ(gw.mock2.request_count(), 0u);
}

TEST(Fallback, RetryAfterBeyondTheLimitMovesOnAtOnce) {
  Gateway gw(chain_config());
  gw.mock.push(Script{.status = 429, .retry_after = "30"});
  HttpResult r = gw.chat(kChat);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-tandem-route"), "second:b");
  EXPECT_EQ(gw.mock.request_count(), 1u);
}

TEST(Fallback, EveryRouteRateLimitedGives429) {
  Gateway gw(chain_config());
  for (int i = 0; i < 3; ++i) gw.mock.push(Script{.status = 429});
  gw.mock2.push(Script{.status = 429});
  HttpResult r = gw.chat(kChat);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(json::parse(r.body).as_object()["error"].as_object()["type"], "rate_limit_error");
  EXPECT_NE(error_message(r).find("first:a: rate_limited after 3 attempts"), std::string::npos)
      << r.body;
  EXPECT_NE(error_message(r).find("second:b: rate_limited"), std::string::npos);
}

TEST(Fallback, EveryRouteFailingGives502ListingEachRouteAndWhy) {
  Gateway gw(chain_config());
  for (int i = 0; i < 3; ++i) gw.mock.push(Script{.status = 503, .error_message = "overloaded"});
  gw.mock2.push(Script{.reset = true});
  HttpResult r = gw.chat(kChat);
  EXPECT_EQ(r.status, 502);
  std::string m = error_message(r);
  EXPECT_NE(m.find("first:a: server_error after 3 attempts (HTTP 503: overloaded)"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("second:b: connection_reset"), std::string::npos) << m;
  EXPECT_EQ(gw.metric(R"(tandem_all_routes_failed_total{model="chain"})"), 1);
}

TEST(Fallback, ATimeoutAndAResetGive502) {
  Gateway gw(chain_config("request_timeout_ms = 100\nmax_retries = 0"));
  gw.mock.push(Script{.delay_ms = 400});
  gw.mock2.push(Script{.reset = true});
  HttpResult r = gw.chat(kChat);
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_NE(error_message(r).find("first:a: timeout"), std::string::npos) << r.body;
}

TEST(Fallback, AllTimeoutsGive504) {
  std::string cfg = R"(
[server]
log_level = "error"
[providers.slow]
kind = "openai"
base_url = "{MOCK}"
request_timeout_ms = 100
max_retries = 1
retry_base_delay_ms = 1
[models.chain]
routes = [{ provider = "slow", model = "a" }, { provider = "slow", model = "b" }]
)";
  Gateway gw(cfg);
  for (int i = 0; i < 4; ++i) gw.mock.push(Script{.delay_ms = 300});
  HttpResult r = gw.chat(kChat);
  EXPECT_EQ(r.status, 504) << r.body;
  EXPECT_NE(error_message(r).find("slow:a: timeout after 2 attempts"), std::string::npos) << r.body;
}

TEST(Fallback, ConnectionResetIsRetried) {
  Gateway gw(chain_config());
  gw.mock.push(Script{.reset = true});
  HttpResult r = gw.chat(kChat);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-tandem-route"), "first:a");
  EXPECT_EQ(r.header("x-tandem-attempts"), "first:a=connection_reset;first:a=ok");
}

TEST(Fallback, ClosedPortFallsBack) {
  std::string cfg = chain_config();
  cfg.replace(cfg.find("{MOCK}"), 6, "http://127.0.0.1:1/v1");
  Gateway gw(cfg);
  HttpResult r = gw.chat(kChat);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-tandem-attempts"), "first:a=connect_error x3;second:b=ok");
}

TEST(Fallback, ContextWindowExceededFallsBackWithoutRetry) {
  Gateway gw(chain_config());
  gw.mock.push(Script{.status = 400,
                      .error_code = "context_length_exceeded",
                      .error_message = "This model's maximum context length is 8 tokens"});
  HttpResult r = gw.chat(kChat);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-tandem-route"), "second:b");
  EXPECT_EQ(gw.mock.request_count(), 1u);
}

TEST(Fallback, ContextWindowExceededEverywhereIsA400) {
  Gateway gw(chain_config());
  gw.mock.push(Script{.status = 400, .error_code = "context_length_exceeded"});
  gw.mock2.push(Script{.status = 400, .error_message = "exceeds the maximum context length"});
  HttpResult r = gw.chat(kChat);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body).as_object()["error"].as_object()["code"],
            "context_length_exceeded");
}

TEST(Fallback, RefusedContentFallsBack) {
  Gateway gw(chain_config());
  gw.mock.push(Script{.finish_reason = "content_filter"});
  HttpResult r = gw.chat(kChat);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-tandem-route"), "second:b");
  gw.mock.push(Script{.status = 400, .error_code = "content_policy_violation"});
  r = gw.chat(kChat);
  EXPECT_EQ(r.header("x-tandem-route"), "second:b");
}

TEST(CircuitBreaker, OpensSkipsTheRouteThenProbesAfterCooldown) {
  Gateway gw(
      chain_config("max_retries = 0\nbreaker_failure_threshold = 2\nbreaker_cooldown_ms = 300"));
  for (int i = 0; i < 2; ++i) {
    gw.mock.push(Script{.status = 500});
    ASSERT_EQ(gw.chat(kChat).header("x-tandem-route"), "second:b");
  }
  EXPECT_EQ(gw.metric(R"(tandem_circuit_state{model="chain",route="first:a"})"), 1);
  // Each model's route has its own breaker, and its own gauge: "other" has sent nothing.
  EXPECT_EQ(gw.metric(R"(tandem_circuit_state{model="other",route="first:a"})"), 0);
  HttpResult skipped = gw.chat(kChat);  // open: the first route is not even asked
  EXPECT_EQ(skipped.header("x-tandem-attempts"), "first:a=circuit_open;second:b=ok");
  EXPECT_EQ(gw.mock.request_count(), 2u);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  HttpResult probe = gw.chat(kChat);  // half-open: one probe, which succeeds and closes it
  EXPECT_EQ(probe.header("x-tandem-route"), "first:a");
  EXPECT_EQ(gw.mock.request_count(), 3u);
  EXPECT_EQ(gw.metric(R"(tandem_circuit_state{model="chain",route="first:a"})"), 0);
  EXPECT_EQ(gw.chat(kChat).header("x-tandem-route"), "first:a");
}

}  // namespace
}  // namespace tandem::testing
