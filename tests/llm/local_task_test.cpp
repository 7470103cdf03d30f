// A task whose LLM variant runs on the local tiny model: the label set constrains decoding through
// the label schema's grammar, the confidence comes from the model's own token probabilities, the
// few-shot examples are trimmed to the variant's token budget counted by the model's tokenizer,
// and agreement samples are decoded together.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>

#include "gateway_fixture.h"
#include "test_models.h"

namespace tandem::testing {
namespace {

namespace json = boost::json;

std::string task_config(const std::string& variant_extra) {
  std::string toml = R"(
[server]
log_level = "error"
task_timeout_ms = 120000   # a random-weight model under a grammar is slow to finish its JSON
[providers.gguf]
kind = "local"
input_price_per_mtok = 1
output_price_per_mtok = 2
[providers.gguf.models.tiny]
path = "{MODEL}"
context = 512
parallel = 4
threads = 2
batch = 256
[providers.gguf.models.embed]
path = "{EMBED}"
context = 128
embeddings = true
threads = 2
[models.tiny]
routes = [{ provider = "gguf", model = "tiny" }]
[models.embed]
type = "embeddings"
routes = [{ provider = "gguf", model = "embed" }]

[tasks.topic]
labels = ["sports", "politics", "cooking"]
[tasks.topic.variants.local]
kind = "llm"
model = "tiny"
system = "Pick one of: {{ labels | join(', ') }}."
template = "Text: {{ text }}"
examples = [
  { input = "the striker scored twice in the final minutes of the match", output = "sports" },
  { input = "parliament passed the budget after a long night of debate", output = "politics" },
  { input = "whisk the eggs with sugar until pale, then fold in the flour", output = "cooking" },
]
)" + variant_extra;
  toml.replace(toml.find("{MODEL}"), 7, tiny_model_path());
  toml.replace(toml.find("{EMBED}"), 7, tiny_embedding_model_path());
  return toml;
}

TEST(LocalTask, LabelsAreConstrainedAndConfidenceComesFromTheModel) {
  Gateway g(task_config("max_tokens = 16\n"));
  for (const char* text : {"the goalkeeper saved a penalty", "simmer the onions slowly",
                           "the senate voted on the bill"}) {
    auto r = g.post("/v1/tasks/topic", std::string(R"({"input": ")") + text + "\"}");
    ASSERT_EQ(r.status, 200) << r.body;
    auto body = json::parse(r.body).as_object();
    std::string label(body.at("output").at("label").as_string());
    EXPECT_TRUE(label == "sports" || label == "politics" || label == "cooking") << label;
    double confidence = body.at("confidence").as_double();
    EXPECT_GT(confidence, 0.0);
    EXPECT_LE(confidence, 1.0);
    EXPECT_GT(body.at("usage").at("prompt_tokens").as_int64(), 0);
    EXPECT_EQ(body.at("route").at("steps").as_array()[0].at("answered_by"), "gguf:tiny");
  }
}

TEST(LocalTask, FewShotExamplesAreTrimmedToTheTokenBudget) {
  // The budget fits the question and about one example, counted by the tiny model's tokenizer.
  Gateway g(task_config("max_tokens = 16\nmax_prompt_tokens = 70\n"));
  auto r = g.post("/v1/tasks/topic", R"({"input": "the goalkeeper saved a penalty"})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = json::parse(r.body).as_object();
  std::string note(body.at("route").at("steps").as_array()[0].at("note").as_string());
  EXPECT_NE(note.find("few-shot examples dropped to fit max_prompt_tokens"), std::string::npos)
      << note;
  EXPECT_LE(body.at("usage").at("prompt_tokens").as_int64(), 70);

  // Too small even without examples: the client's input does not fit, a clear 400.
  Gateway tight(task_config("max_tokens = 16\nmax_prompt_tokens = 5\n"));
  r = tight.post("/v1/tasks/topic", R"({"input": "the goalkeeper saved a penalty"})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("max_prompt_tokens"), std::string::npos) << r.body;
}

TEST(LocalTask, AgreementSamplesAreDecodedTogether) {
  Gateway g(task_config(
      "temperature = 0.3\nmax_tokens = 48\nconfidence = \"agreement\"\nsamples = 3\nseed = 1\n"));
  auto r = g.post("/v1/tasks/topic", R"({"input": "the goalkeeper saved a penalty"})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = json::parse(r.body).as_object();
  double confidence = body.at("confidence").as_double();
  // A share of 3 votes (a sample that broke the contract twice votes for nothing).
  EXPECT_TRUE(std::abs(confidence * 3 - std::round(confidence * 3)) < 1e-9 && confidence > 0)
      << confidence;
  EXPECT_GE(body.at("route").at("steps").as_array()[0].at("calls").as_int64(), 3);
}

TEST(LocalTask, FewShotRetrievalWithALocalEmbeddingsModel) {
  // The examples are embedded by the local embeddings model at start, the input per request on
  // the worker pool; the one nearest the input is the example turn the LLM sees.
  Gateway g(
      task_config("max_tokens = 16\nconfidence = \"none\"\nretrieve_examples = 1\n"
                  "embedder = \"embed\"\n"));
  // The third example's own text: its embedding is the input's, the nearest by construction.
  auto r = g.post("/v1/tasks/topic",
                  R"({"input": "whisk the eggs with sugar until pale, then fold in the flour"})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = json::parse(r.body).as_object();
  EXPECT_EQ(body.at("route").at("steps").as_array()[0].at("examples"), json::array{2});
  std::string label(body.at("output").at("label").as_string());
  EXPECT_TRUE(label == "sports" || label == "politics" || label == "cooking") << label;
  // An input that is all whitespace is refused before any model runs.
  r = g.post("/v1/tasks/topic", R"({"input": "   "})");
  EXPECT_EQ(r.status, 400);
}

}  // namespace
}  // namespace tandem::testing
