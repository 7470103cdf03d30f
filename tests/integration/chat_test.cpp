// Non-streamed chat, embeddings, models, auth and metrics through the real gateway.
#include <boost/json.hpp>

#include "gateway_fixture.h"

namespace tandem::testing {
namespace {

namespace json = boost::json;
constexpr const char* kHello =
    R"({"model":"m","messages":[{"role":"user","content":"hello there"}]})";

TEST(Chat, CompletesAndChargesExactly) {
  Gateway gw(basic_config());
  HttpResult r = gw.chat(kHello);
  ASSERT_EQ(r.status, 200) << r.body;
  json::object body = json::parse(r.body).as_object();
  EXPECT_EQ(body["choices"].as_array()[0].as_object()["message"].as_object()["content"],
            "Hello from the mock upstream.");
  // The mock counts 2 words + 3 per message = 5 prompt tokens and 5 completion tokens.
  EXPECT_EQ(body["usage"].as_object()["prompt_tokens"], 5);
  EXPECT_EQ(r.header("x-tandem-route"), "up:up-model");
  EXPECT_EQ(r.header("x-tandem-cost-usd"), "0.00000375");  // 5*0.15e-6 + 5*0.60e-6
  EXPECT_EQ(r.header("x-tandem-prompt-tokens"), "5");
  EXPECT_TRUE(r.header("x-tandem-attempts").empty());
  EXPECT_EQ(r.header("x-request-id").size(), 32u);

  auto received = gw.mock.received();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].target, "/v1/chat/completions");
  EXPECT_EQ(received[0].authorization, "Bearer sk-upstream-secret");
  json::object sent = json::parse(received[0].body).as_object();
  EXPECT_EQ(sent["model"], "up-model");  // public name rewritten to the upstream's
  EXPECT_FALSE(sent.contains("stream_options"));
}

TEST(Chat, UpstreamConnectionsAreKeptAliveAndReused) {
  Gateway gw(basic_config(), 1);
  for (int i = 0; i < 10; ++i) ASSERT_EQ(gw.chat(kHello).status, 200);
  EXPECT_EQ(gw.mock.request_count(), 10u);
  EXPECT_EQ(gw.mock.open_connections(), 1);  // one pooled connection served all ten
}

TEST(Chat, PassesUnknownFieldsToolsAndResponseFormatThrough) {
  Gateway gw(basic_config());
  std::string body = R"({"model":"m","messages":[{"role":"user","content":"weather?"}],
    "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}],
    "tool_choice":"auto","response_format":{"type":"json_object"},"seed":7,"x_vendor":{"a":1}})";
  gw.mock.push(Script{.tool_call = true});
  HttpResult r = gw.chat(body);
  ASSERT_EQ(r.status, 200) << r.body;
  json::object out = json::parse(r.body).as_object();
  auto& msg = out["choices"].as_array()[0].as_object()["message"].as_object();
  EXPECT_EQ(msg["tool_calls"].as_array()[0].as_object()["function"].as_object()["name"],
            "get_weather");
  json::object sent = json::parse(gw.mock.received().at(0).body).as_object();
  EXPECT_EQ(sent["tools"].as_array().size(), 1u);
  EXPECT_EQ(sent["response_format"].as_object()["type"], "json_object");
  EXPECT_EQ(sent["x_vendor"].as_object()["a"], 1);
  EXPECT_EQ(sent["seed"], 7);
}

TEST(Chat, UnknownModelIs404AndUnknownEndpointIs404) {
  Gateway gw(basic_config());
  HttpResult r = gw.chat(R"({"model":"nope","messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(r.status, 404);
  json::object e = json::parse(r.body).as_object()["error"].as_object();
  EXPECT_EQ(e["code"], "model_not_found");
  EXPECT_NE(std::string(e["message"].as_string()).find("nope"), std::string::npos);
  EXPECT_EQ(gw.get("/v2/whatever").status, 404);
  HttpResult wrong = gw.get("/v1/chat/completions");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.header("allow"), "POST");
  EXPECT_EQ(gw.mock.request_count(), 0u);
}

TEST(Chat, UpstreamRejectionOfTheRequestIsRelayedWithoutFallback) {
  Gateway gw(basic_config() + R"(
[models.two]
routes = [{ provider = "up", model = "a" }, { provider = "up", model = "b" }]
)");
  gw.mock.push(
      Script{.status = 400, .error_code = "invalid_value", .error_message = "bad logit_bias"});
  HttpResult r = gw.chat(R"({"model":"two","messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("bad logit_bias"), std::string::npos);
  EXPECT_EQ(gw.mock.request_count(), 1u);  // the second route would reject it too
}

TEST(Models, ListsConfiguredModels) {
  Gateway gw(basic_config() + R"(
[models.emb]
type = "embeddings"
routes = [{ provider = "up", model = "e" }]
)");
  HttpResult r = gw.get("/v1/models");
  ASSERT_EQ(r.status, 200);
  json::object body = json::parse(r.body).as_object();
  EXPECT_EQ(body["object"], "list");
  std::vector<std::string> ids;
  for (auto& m : body["data"].as_array()) ids.emplace_back(m.as_object()["id"].as_string());
  EXPECT_EQ(ids, (std::vector<std::string>{"emb", "m"}));  // sorted by name
}

TEST(Embeddings, ForwardsAndCharges) {
  Gateway gw(basic_config() + R"(
[models.emb]
type = "embeddings"
routes = [{ provider = "up", model = "text-emb", input_price_per_mtok = "0.02", output_price_per_mtok = 0 }]
)");
  HttpResult r = gw.post("/v1/embeddings", R"({"model":"emb","input":["one two","three"]})");
  ASSERT_EQ(r.status, 200) << r.body;
  json::object body = json::parse(r.body).as_object();
  EXPECT_EQ(body["data"].as_array().size(), 2u);
  EXPECT_EQ(r.header("x-tandem-cost-usd"), "0.00000006");  // 3 tokens at $0.02/M
  EXPECT_EQ(json::parse(gw.mock.received().at(0).body).as_object()["model"], "text-emb");
  // A chat model is not an embeddings model, and the reverse.
  EXPECT_EQ(gw.post("/v1/embeddings", R"({"model":"m","input":"x"})").status, 400);
  EXPECT_EQ(gw.chat(R"({"model":"emb","messages":[{"role":"user","content":"x"}]})").status, 400);
  EXPECT_EQ(gw.post("/v1/embeddings", R"({"model":"emb","input":[]})").status, 400);
}

TEST(Auth, RequiresAValidBearerKeyButNotForHealth) {
  Gateway gw(basic_config() + R"(
[[client_keys]]
name = "app"
key_env = "TEST_CLIENT_KEY"
)");
  HttpResult none = gw.chat(kHello);
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.header("www-authenticate"), "Bearer");
  EXPECT_EQ(json::parse(none.body).as_object()["error"].as_object()["type"],
            "authentication_error");
  HttpResult wrong = gw.post("/v1/chat/completions", kHello,
                             {{"Authorization", "Bearer test-client-key-012345678X"}});
  EXPECT_EQ(wrong.status, 401);
  HttpResult ok = gw.post("/v1/chat/completions", kHello,
                          {{"Authorization", "Bearer test-client-key-0123456789"}});
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(gw.get("/v1/models").status, 401);
  EXPECT_EQ(gw.get("/health").status, 200);
  EXPECT_EQ(gw.get("/metrics").status, 200);
  EXPECT_EQ(gw.mock.request_count(), 1u);
}

TEST(Metrics, CountRequestsTokensAndCostExactly) {
  Gateway gw(basic_config());
  for (int i = 0; i < 3; ++i) ASSERT_EQ(gw.chat(kHello).status, 200);
  EXPECT_EQ(gw.metric(R"(tandem_tokens_total{model="m",route="up:up-model",type="prompt"})"), 15);
  EXPECT_EQ(gw.metric(R"(tandem_tokens_total{model="m",route="up:up-model",type="completion"})"),
            15);
  EXPECT_DOUBLE_EQ(gw.metric(R"(tandem_cost_usd_total{model="m",route="up:up-model"})"),
                   0.00001125);
  EXPECT_EQ(
      gw.metric(R"(tandem_http_requests_total{endpoint="/v1/chat/completions",status="200"})"), 3);
  EXPECT_EQ(
      gw.metric(R"(tandem_upstream_attempts_total{model="m",route="up:up-model",outcome="ok"})"),
      3);
  EXPECT_EQ(
      gw.metric(R"(tandem_model_request_duration_seconds_count{model="m",route="up:up-model"})"),
      3);
  EXPECT_EQ(gw.metric(R"(tandem_circuit_state{model="m",route="up:up-model"})"), 0);
  HttpResult text = gw.get("/metrics");
  EXPECT_NE(text.header("content-type").find("text/plain"), std::string::npos);
}

TEST(Metrics, AnswerWithoutUsageIsCountedAsMissing) {
  Gateway gw(basic_config());
  gw.mock.push(Script{.usage = false});
  HttpResult r = gw.chat(kHello);
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(r.header("x-tandem-cost-usd").empty());
  EXPECT_EQ(gw.metric(R"(tandem_usage_missing_total{model="m",route="up:up-model"})"), 1);
}

}  // namespace
}  // namespace tandem::testing
