#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "tandem/core/api_error.h"

using namespace tandem::core;

TEST(ApiError, ToJsonShape) {
  ApiError e = invalid_request("messages[1].role: must be one of ...", "messages[1].role");
  EXPECT_EQ(to_json(e), R"({"error":{"message":"messages[1].role: must be one of ...",)"
                        R"("type":"invalid_request_error",)"
                        R"("param":"messages[1].role","code":"invalid_request"}})");
}

TEST(ApiError, EmptyParamAndCodeAreNull) {
  ApiError e{500, "server_error", "", "boom", ""};
  boost::json::value v = boost::json::parse(to_json(e));
  ASSERT_TRUE(v.is_object());
  ASSERT_EQ(v.as_object().size(), 1u);
  const auto& inner = v.as_object().at("error").as_object();
  EXPECT_EQ(inner.size(), 4u);
  EXPECT_EQ(inner.at("message"), "boom");
  EXPECT_EQ(inner.at("type"), "server_error");
  EXPECT_TRUE(inner.at("param").is_null());
  EXPECT_TRUE(inner.at("code").is_null());
  EXPECT_EQ(to_json(e),
            R"({"error":{"message":"boom","type":"server_error","param":null,"code":null}})");
}

TEST(ApiError, MessagesAreJsonEscaped) {
  ApiError e = invalid_request("bad \"quote\" \\ and\nnewline \x01", "p\"");
  boost::json::value v = boost::json::parse(to_json(e));
  EXPECT_EQ(v.at("error").at("message"), "bad \"quote\" \\ and\nnewline \x01");
  EXPECT_EQ(v.at("error").at("param"), "p\"");
}

TEST(ApiError, Constructors) {
  struct Case {
    ApiError e;
    int status;
    const char* type;
    const char* code;
  };
  for (const auto& c : {
           Case{invalid_request("m"), 400, "invalid_request_error", "invalid_request"},
           Case{invalid_request("m", "x", "invalid_json"), 400, "invalid_request_error",
                "invalid_json"},
           Case{unauthorized("m"), 401, "authentication_error", "invalid_api_key"},
           Case{not_found("m", "model_not_found"), 404, "invalid_request_error", "model_not_found"},
           Case{too_large("m"), 413, "invalid_request_error", "request_too_large"},
           Case{rate_limited("m"), 429, "rate_limit_error", "rate_limit_exceeded"},
           Case{bad_gateway("m"), 502, "upstream_error", "all_routes_failed"},
           Case{gateway_timeout("m"), 504, "upstream_error", "upstream_timeout"},
           Case{internal_error("m"), 500, "server_error", "internal_error"},
       }) {
    EXPECT_EQ(c.e.status, c.status) << c.code;
    EXPECT_EQ(c.e.type, c.type) << c.code;
    EXPECT_EQ(c.e.code, c.code);
    EXPECT_EQ(c.e.message, "m");
    boost::json::value v = boost::json::parse(to_json(c.e));
    EXPECT_EQ(v.at("error").at("code"), c.code);
    EXPECT_EQ(v.at("error").at("type"), c.type);
  }
  EXPECT_EQ(invalid_request("m").param, "");
  EXPECT_EQ(invalid_request("m", "x", "invalid_json").param, "x");
  EXPECT_TRUE(boost::json::parse(to_json(unauthorized("m"))).at("error").at("param").is_null());
}
