#include <gtest/gtest.h>

#include <string>

#include "tandem/routing/failure.h"

using namespace tandem::routing;
using std::chrono::milliseconds;

namespace {

std::string openai_error(std::string_view code, std::string_view message) {
  return R"({"error":{"message":")" + std::string(message) +
         R"(","type":"invalid_request_error","param":null,"code":)" +
         (code.empty() ? std::string("null") : "\"" + std::string(code) + "\"") + "}}";
}

}  // namespace

TEST(Failure, RateLimitedWithRetryAfterSeconds) {
  Failure f = classify_http_failure(429, openai_error("rate_limit_exceeded", "slow down"), "2");
  EXPECT_EQ(f.kind, FailureKind::rate_limited);
  EXPECT_EQ(f.http_status, 429);
  ASSERT_TRUE(f.retry_after.has_value());
  EXPECT_EQ(*f.retry_after, milliseconds(2000));
  EXPECT_EQ(f.detail, "HTTP 429: slow down");
  EXPECT_TRUE(f.upstream_body.empty());

  f = classify_http_failure(429, "", "0.5");
  EXPECT_EQ(f.kind, FailureKind::rate_limited);
  EXPECT_EQ(f.retry_after, milliseconds(500));
  EXPECT_EQ(f.detail, "HTTP 429");

  f = classify_http_failure(429, "", " 3 ");
  EXPECT_EQ(f.retry_after, milliseconds(3000));

  f = classify_http_failure(429, "", "");
  EXPECT_EQ(f.kind, FailureKind::rate_limited);
  EXPECT_FALSE(f.retry_after.has_value());

  // HTTP-dates are not understood and ignored.
  f = classify_http_failure(429, "", "Wed, 21 Oct 2015 07:28:00 GMT");
  EXPECT_EQ(f.kind, FailureKind::rate_limited);
  EXPECT_FALSE(f.retry_after.has_value());
}

TEST(Failure, ParseRetryAfter) {
  EXPECT_EQ(parse_retry_after("0"), milliseconds(0));
  EXPECT_EQ(parse_retry_after("1"), milliseconds(1000));
  EXPECT_EQ(parse_retry_after("1.25"), milliseconds(1250));
  EXPECT_EQ(parse_retry_after("86400"), milliseconds(86'400'000));
  EXPECT_FALSE(parse_retry_after("86401"));
  EXPECT_FALSE(parse_retry_after("-1"));
  EXPECT_FALSE(parse_retry_after("abc"));
  EXPECT_FALSE(parse_retry_after("5s"));
  EXPECT_FALSE(parse_retry_after(""));
  EXPECT_FALSE(parse_retry_after("   "));
  EXPECT_FALSE(parse_retry_after("inf"));
}

TEST(Failure, ParseRetryAfterRefusesNan) {
  EXPECT_FALSE(parse_retry_after("nan"));
  EXPECT_FALSE(parse_retry_after("NaN"));
}

TEST(Failure, ServerErrors) {
  for (int status : {500, 502, 503, 504, 529}) {
    Failure f = classify_http_failure(status, "<html>oops</html>", "");
    EXPECT_EQ(f.kind, FailureKind::server_error) << status;
    EXPECT_EQ(f.http_status, status);
    EXPECT_EQ(f.detail, "HTTP " + std::to_string(status));
    EXPECT_FALSE(f.retry_after);
  }
  Failure f = classify_http_failure(503, openai_error("", "overloaded"), "1");
  EXPECT_EQ(f.kind, FailureKind::server_error);
  EXPECT_EQ(f.retry_after, milliseconds(1000));
  EXPECT_EQ(f.detail, "HTTP 503: overloaded");
}

TEST(Failure, RequestTimeout) {
  EXPECT_EQ(classify_http_failure(408, "", "").kind, FailureKind::timeout);
}

TEST(Failure, ContextLengthByCode) {
  Failure f = classify_http_failure(400, openai_error("context_length_exceeded", "too long"), "");
  EXPECT_EQ(f.kind, FailureKind::context_length);
  EXPECT_TRUE(f.upstream_body.empty());
}

TEST(Failure, ContextLengthByMessage) {
  Failure f = classify_http_failure(
      400,
      openai_error("",
                   "This model's Maximum Context Length is 8192 tokens. However, you requested "
                   "9000 tokens."),
      "");
  EXPECT_EQ(f.kind, FailureKind::context_length);
  f = classify_http_failure(400, openai_error("", "input exceeds the context window"), "");
  EXPECT_EQ(f.kind, FailureKind::context_length);
  // The code wins over the status, also for 5xx.
  EXPECT_EQ(classify_http_failure(500, openai_error("context_length_exceeded", "x"), "").kind,
            FailureKind::context_length);
  // 413 Payload Too Large is treated as a context-length problem.
  EXPECT_EQ(classify_http_failure(413, "", "").kind, FailureKind::context_length);
}

TEST(Failure, ContentFilter) {
  EXPECT_EQ(classify_http_failure(400, openai_error("content_filter", "refused"), "").kind,
            FailureKind::content_refused);
  EXPECT_EQ(classify_http_failure(400, openai_error("content_policy_violation", "no"), "").kind,
            FailureKind::content_refused);
}

TEST(Failure, AuthAndMissing) {
  EXPECT_EQ(classify_http_failure(401, openai_error("invalid_api_key", "bad key"), "").kind,
            FailureKind::upstream_auth);
  EXPECT_EQ(classify_http_failure(403, "", "").kind, FailureKind::upstream_auth);
  EXPECT_EQ(classify_http_failure(404, openai_error("model_not_found", "no such model"), "").kind,
            FailureKind::upstream_missing);
}

TEST(Failure, ClientErrorKeepsTheUpstreamBody) {
  std::string body = openai_error("invalid_value", "temperature is wrong");
  Failure f = classify_http_failure(400, body, "");
  EXPECT_EQ(f.kind, FailureKind::client_error);
  EXPECT_EQ(f.http_status, 400);
  EXPECT_EQ(f.upstream_body, body);
  EXPECT_EQ(f.detail, "HTTP 400: temperature is wrong");

  f = classify_http_failure(422, "not json at all", "");
  EXPECT_EQ(f.kind, FailureKind::client_error);
  EXPECT_EQ(f.upstream_body, "not json at all");
  EXPECT_EQ(f.detail, "HTTP 422");
}

TEST(Failure, DetailIsShortened) {
  Failure f = classify_http_failure(500, openai_error("", std::string(1000, 'x')), "");
  EXPECT_EQ(f.detail, "HTTP 500: " + std::string(300, 'x'));
}

TEST(Failure, OddBodiesAreHandled) {
  // error as a string, code as a number, an array body: nothing is read from them.
  EXPECT_EQ(classify_http_failure(400, R"({"error":"context_length_exceeded"})", "").kind,
            FailureKind::client_error);
  EXPECT_EQ(classify_http_failure(400, R"({"error":{"code":400,"message":5}})", "").detail,
            "HTTP 400");
  EXPECT_EQ(classify_http_failure(502, "[1,2]", "").kind, FailureKind::server_error);
  EXPECT_EQ(classify_http_failure(502, std::string(100'000, '['), "").kind,
            FailureKind::server_error);
}

TEST(Failure, IsRetryable) {
  for (auto k : {FailureKind::connect, FailureKind::timeout, FailureKind::reset,
                 FailureKind::rate_limited, FailureKind::server_error}) {
    EXPECT_TRUE(is_retryable(k)) << to_string(k);
  }
  for (auto k :
       {FailureKind::tls, FailureKind::protocol, FailureKind::context_length,
        FailureKind::content_refused, FailureKind::upstream_auth, FailureKind::upstream_missing,
        FailureKind::client_error, FailureKind::circuit_open, FailureKind::cancelled}) {
    EXPECT_FALSE(is_retryable(k)) << to_string(k);
  }
}

TEST(Failure, FallsBack) {
  for (auto k :
       {FailureKind::connect, FailureKind::timeout, FailureKind::reset, FailureKind::tls,
        FailureKind::protocol, FailureKind::rate_limited, FailureKind::server_error,
        FailureKind::context_length, FailureKind::content_refused, FailureKind::upstream_auth,
        FailureKind::upstream_missing, FailureKind::circuit_open}) {
    EXPECT_TRUE(falls_back(k)) << to_string(k);
  }
  EXPECT_FALSE(falls_back(FailureKind::client_error));
  EXPECT_FALSE(falls_back(FailureKind::cancelled));
}

TEST(Failure, CountsAgainstHealth) {
  for (auto k : {FailureKind::connect, FailureKind::timeout, FailureKind::reset, FailureKind::tls,
                 FailureKind::protocol, FailureKind::rate_limited, FailureKind::server_error,
                 FailureKind::upstream_auth}) {
    EXPECT_TRUE(counts_against_health(k)) << to_string(k);
  }
  // The request's own fault, or the client's: the route answered as a healthy one would.
  for (auto k :
       {FailureKind::client_error, FailureKind::context_length, FailureKind::content_refused,
        FailureKind::upstream_missing, FailureKind::cancelled}) {
    EXPECT_FALSE(counts_against_health(k)) << to_string(k);
  }
}

TEST(Failure, KindNames) {
  EXPECT_STREQ(to_string(FailureKind::context_length), "context_length_exceeded");
  EXPECT_STREQ(to_string(FailureKind::client_error), "invalid_request");
  EXPECT_STREQ(to_string(FailureKind::upstream_missing), "upstream_not_found");
  EXPECT_STREQ(to_string(FailureKind::rate_limited), "rate_limited");
}
