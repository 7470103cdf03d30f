// Few-shot retrieval with a remote embeddings model: an LLM variant whose examples are chosen by
// the vectors of an OpenAI-compatible /embeddings API (the mock upstream, answering with a bag of
// words), behind the real gateway on loopback.
#include <gtest/gtest.h>

#include <unistd.h>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "gateway_fixture.h"

namespace tandem::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// The mock's token count: runs of non-space characters.
std::int64_t words(std::string_view text) {
  std::int64_t n = 0;
  bool in_word = false;
  for (char c : text) {
    bool space = c == ' ' || c == '\n' || c == '\t';
    if (!space && !in_word) ++n;
    in_word = !space;
  }
  return n;
}

// The mock's prompt tokens for a chat request: words of every message, plus 3 per message.
std::int64_t chat_prompt_tokens(const json::object& body) {
  std::int64_t n = 0;
  for (const auto& m : body.at("messages").as_array()) {
    n += 3 + words(m.at("content").as_string());
  }
  return n;
}

const std::vector<std::string> kExamples = {
    "my cat sleeps on the sofa all day",      // 0: pets
    "the bank charged a fee on my account",   // 1: money
    "heavy rain and wind expected tomorrow",  // 2: weather
};
constexpr int kFillers = 67;  // 70 examples: two requests at load (64 + 6)

class RemoteEmbedder : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("tandem-embedder-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    std::ofstream out(dir_ / "examples.jsonl");
    const char* labels[] = {"pets", "money", "weather"};
    for (std::size_t i = 0; i < kExamples.size(); ++i) {
      out << json::serialize(json::object{{"input", json::object{{"text", kExamples[i]}}},
                                          {"output", labels[i]}})
          << "\n";
      example_tokens_ += words(kExamples[i]);
    }
    for (int i = 0; i < kFillers; ++i) {
      std::string text = "note number " + std::to_string(i);
      out << json::serialize(
                 json::object{{"input", json::object{{"text", text}}}, {"output", "pets"}})
          << "\n";
      example_tokens_ += words(text);
    }
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Task "topic": variant "llm" retrieves one example with the embeddings model "vectors",
  // whose first route cannot connect and whose second is the mock (model "mock:words");
  // variant "plain" has no examples and is the fallback.
  // `dead` and `emb`: more settings of those providers (e.g. their circuit breakers).
  std::string config(const std::string& vector_routes = "", const std::string& dead = "",
                     const std::string& emb = "") const {
    return R"([server]
log_level = "error"

[providers.up]
kind = "openai"
base_url = "{MOCK}"
max_retries = 0

[providers.dead]
kind = "openai"
base_url = "http://127.0.0.1:1/v1"
max_retries = 0
)" + dead + R"(

[providers.emb]
kind = "openai"
base_url = "{MOCK2}"
api_key_env = "TEST_UPSTREAM_KEY"
max_retries = 0
request_timeout_ms = 1000
input_price_per_mtok = 3
)" + emb + R"(

[models.m]
routes = [{ provider = "up", model = "gpt-mock" }]

[models.vectors]
type = "embeddings"
routes = )" +
           (vector_routes.empty()
                ? std::string(
                      R"([{ provider = "dead", model = "x" }, { provider = "emb", model = "mock:words" }])")
                : vector_routes) +
           R"(

[tasks.topic]
contract = "text"

[tasks.topic.variants.llm]
kind = "llm"
model = "m"
template = "Text: {{ text }}"
examples_file = ")" +
           (dir_ / "examples.jsonl").string() + R"("
retrieve_examples = 1
embedder = "vectors"
confidence = "none"

[tasks.topic.variants.plain]
kind = "llm"
model = "m"
template = "Text: {{ text }}"
confidence = "none"

[tasks.topic.policy]
variants = ["llm"]
fallback = ["plain"]
)";
  }

  fs::path dir_;
  std::int64_t example_tokens_ = 0;
};

json::object body_of(const HttpResult& r) {
  return json::parse(r.body).as_object();
}

TEST_F(RemoteEmbedder, ChoosesExamplesByTheRemoteVectorsAndChargesTheEmbedding) {
  Gateway g(config());
  // At start: the 70 examples in two requests (64, then 6), each after the dead route failed.
  auto load = g.mock2.received();
  ASSERT_EQ(load.size(), 2u);
  for (const auto& r : load) {
    EXPECT_EQ(r.target, "/v1/embeddings");
    EXPECT_EQ(r.authorization, "Bearer sk-upstream-secret");
  }
  auto first = json::parse(load[0].body).as_object();
  EXPECT_EQ(first.at("model"), "mock:words");
  EXPECT_EQ(first.at("input").as_array().size(), 64u);
  EXPECT_EQ(first.at("input").as_array()[0].as_string(), kExamples[0]);
  EXPECT_EQ(json::parse(load[1].body).at("input").as_array().size(), 6u);
  const std::string vectors_route = "{model=\"vectors\",route=\"emb:mock:words\"";
  EXPECT_EQ(g.metric("tandem_tokens_total" + vectors_route + ",type=\"prompt\"}"),
            static_cast<double>(example_tokens_));
  EXPECT_EQ(g.metric("tandem_upstream_attempts_total{model=\"vectors\",route=\"dead:x\","
                     "outcome=\"connect_error\"}"),
            2);

  // A request: its input embedded in one call, the nearest example in the prompt.
  const std::string question = "does my cat sleep on the sofa";
  auto r = g.post("/v1/tasks/topic", R"({"input": ")" + question + R"("})");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(g.mock2.request_count(), 3u);
  auto embedded = json::parse(g.mock2.received().back().body).as_object();
  EXPECT_EQ(embedded.at("input"), json::array{json::string(question)});
  auto body = body_of(r);
  EXPECT_EQ(body.at("variant"), "llm");
  auto step = body.at("route").at("steps").as_array().at(0);
  EXPECT_EQ(step.at("examples"), json::array{0});
  EXPECT_NE(std::string(step.at("note").as_string())
                .find("examples retrieved by embeddings from emb:mock:words (7 tokens)"),
            std::string::npos)
      << step;
  auto chat = json::parse(g.mock.received().back().body).as_object();
  auto messages = chat.at("messages").as_array();
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[0].at("content").as_string(), "Text: " + kExamples[0]);
  EXPECT_EQ(messages[2].at("content").as_string(), "Text: " + question);
  // The embedding's 7 tokens are prompt tokens of the task, priced at the embedder's route
  // ($3/M; the chat model is free here).
  EXPECT_EQ(body.at("usage").at("prompt_tokens").as_int64(), chat_prompt_tokens(chat) + 7);
  EXPECT_EQ(body.at("cost_usd"), "0.000021");
  EXPECT_EQ(r.header("x-tandem-cost-usd"), "0.000021");
  EXPECT_EQ(g.metric("tandem_task_cost_picousd_total{task=\"topic\"}"), 21'000'000);
  EXPECT_EQ(g.metric("tandem_tokens_total" + vectors_route + ",type=\"prompt\"}"),
            static_cast<double>(example_tokens_ + 7));

  // Another topic, another nearest example: the vectors carry meaning.
  r = g.post("/v1/tasks/topic", R"({"input": "will rain and wind come tomorrow"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r).at("route").at("steps").as_array().at(0).at("examples"), json::array{2});
  EXPECT_EQ(g.mock2.request_count(), 4u);
}

TEST_F(RemoteEmbedder, AFailingEmbedderIsAClearErrorAndTheFallbackAnswers) {
  Gateway g(config());
  // The API fails, quoting the key it was sent: the variant fails naming every route, the key
  // never shows, and the fallback variant answers.
  Script down;
  down.status = 500;
  down.error_message = "key sk-upstream-secret is not allowed";
  g.mock2.push(down);
  auto r = g.post("/v1/tasks/topic", R"({"input": "my cat"})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = body_of(r);
  EXPECT_EQ(body.at("variant"), "plain");
  auto steps = body.at("route").at("steps").as_array();
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].at("ok"), false);
  std::string error(steps[0].at("error").as_string());
  EXPECT_NE(error.find("variant 'llm': embedder 'vectors': all 2 route(s) failed: dead:x: "
                       "connect_error (connect failed: "),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("emb:mock:words: server_error (HTTP 500: key <api key> is not allowed)"),
            std::string::npos)
      << error;
  EXPECT_EQ(r.body.find("sk-upstream-secret"), std::string::npos) << r.body;

  // An API slower than the provider's request timeout (1 s): a timeout, not a hang.
  Script slow;
  slow.delay_ms = 3000;
  g.mock2.push(slow);
  r = g.post("/v1/tasks/topic", R"({"input": "my cat"})");
  ASSERT_EQ(r.status, 200) << r.body;
  error = body_of(r).at("route").at("steps").as_array().at(0).at("error").as_string();
  EXPECT_NE(error.find("emb:mock:words: timeout"), std::string::npos) << error;

  // A request the API refuses (400) is not tried elsewhere.
  Script refused;
  refused.status = 400;
  refused.error_message = "input too long";
  g.mock2.push(refused);
  std::size_t before = g.mock2.request_count();
  r = g.post("/v1/tasks/topic", R"({"input": "my cat"})");
  ASSERT_EQ(r.status, 200) << r.body;
  error = body_of(r).at("route").at("steps").as_array().at(0).at("error").as_string();
  EXPECT_NE(error.find("emb:mock:words rejected the request: HTTP 400: input too long"),
            std::string::npos)
      << error;
  EXPECT_EQ(g.mock2.request_count(), before + 1);

  // And the embedder works again once the API does.
  r = g.post("/v1/tasks/topic", R"({"input": "my cat sleeps"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r).at("variant"), "llm");
}

TEST_F(RemoteEmbedder, ADeadRouteIsSkippedOnceItsCircuitOpens) {
  // The dead first route fails both requests at load; with a threshold of 2 its circuit opens.
  Gateway g(config("", "breaker_failure_threshold = 2"));
  const std::string dead = "tandem_upstream_attempts_total{model=\"vectors\",route=\"dead:x\",";
  EXPECT_EQ(g.metric(dead + "outcome=\"connect_error\"}"), 2);
  EXPECT_EQ(g.metric("tandem_circuit_state{model=\"vectors\",route=\"dead:x\"}"), 1);

  // A request's embedding skips it without trying to connect and the variant answers.
  auto r = g.post("/v1/tasks/topic", R"({"input": "does my cat sleep on the sofa"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r).at("variant"), "llm");
  EXPECT_EQ(g.metric(dead + "outcome=\"connect_error\"}"), 2);
  EXPECT_EQ(g.metric(dead + "outcome=\"circuit_open\"}"), 1);

  // The breaker is the route's, shared with /v1/embeddings calls to the same model.
  r = g.post("/v1/embeddings", R"({"model": "vectors", "input": "my cat"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(g.metric(dead + "outcome=\"connect_error\"}"), 2);
  EXPECT_EQ(g.metric(dead + "outcome=\"circuit_open\"}"), 2);
}

TEST_F(RemoteEmbedder, AnOpenCircuitLetsAProbeThroughAfterItsCooldown) {
  Gateway g(config(R"([{ provider = "emb", model = "mock:words" }])", "",
                   "breaker_failure_threshold = 2\nbreaker_cooldown_ms = 1500"));
  // Two failures open it; a refused request between them (the request's fault, not the
  // route's) neither counts nor resets the count.
  Script down;
  down.status = 500;
  Script refused;
  refused.status = 400;
  refused.error_message = "input too long";
  g.mock2.push(down);
  g.mock2.push(refused);
  g.mock2.push(down);
  for (int i = 0; i < 3; ++i) {
    auto r = g.post("/v1/tasks/topic", R"({"input": "my cat"})");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(body_of(r).at("variant"), "plain");
    EXPECT_EQ(g.metric("tandem_circuit_state{model=\"vectors\",route=\"emb:mock:words\"}"),
              i == 2 ? 1 : 0)
        << i;
  }

  // Open: the API is not called, and the error says why.
  std::size_t sent = g.mock2.request_count();
  auto r = g.post("/v1/tasks/topic", R"({"input": "my cat"})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = body_of(r);
  EXPECT_EQ(body.at("variant"), "plain");
  std::string error(body.at("route").at("steps").as_array().at(0).at("error").as_string());
  EXPECT_NE(error.find("embedder 'vectors': all 1 route(s) failed: emb:mock:words: circuit_open "
                       "(circuit breaker open)"),
            std::string::npos)
      << error;
  EXPECT_EQ(g.mock2.request_count(), sent);

  // After the cooldown one probe goes through; the API answers again, and the circuit closes.
  std::this_thread::sleep_for(std::chrono::milliseconds(1600));
  r = g.post("/v1/tasks/topic", R"({"input": "my cat sleeps"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r).at("variant"), "llm");
  EXPECT_EQ(g.mock2.request_count(), sent + 1);
  EXPECT_EQ(g.metric("tandem_circuit_state{model=\"vectors\",route=\"emb:mock:words\"}"), 0);
}

TEST_F(RemoteEmbedder, StartFailsClearlyWhenTheExamplesCannotBeEmbedded) {
  try {
    Gateway g(config(R"([{ provider = "dead", model = "x" }])"));
    FAIL() << "started without embedding the examples";
  } catch (const std::exception& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("embedder 'vectors': all 1 route(s) failed: dead:x: connect_error"),
              std::string::npos)
        << what;
  }
}

}  // namespace
}  // namespace tandem::testing
