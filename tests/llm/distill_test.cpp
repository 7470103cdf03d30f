// Distillation end to end on the local provider: a labels task whose only variant is the tiny
// random-weight model answers a few hundred requests through the real gateway, which records
// them; `tandem distill`'s library call trains a text classifier on those records and fits its
// threshold; a reload puts the distilled model in front of the LLM as the cascade's first stage,
// and from then on the answers it is sure of come without an LLM call while the rest escalate.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <unistd.h>

#include "gateway_fixture.h"
#include "tandem/config/config_loader.h"
#include "tandem/models/text/text_classifier.h"
#include "tandem/tasks/distillation.h"
#include "test_models.h"

namespace tandem::testing {
namespace {

namespace json = boost::json;

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (std::size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) {
    s.replace(pos, from.size(), to);
  }
}

// The tiny model's shape with GPT-2's vocabulary (50k tokens; grammar-constrained decoding checks
// every token of the vocabulary at each step, and over Qwen2's 151k this costs seconds per
// label on two cores) and larger random weights, so that its greedy label depends on the input
// instead of being one label for every text. Written once per build folder.
const std::string& teacher_model_path() {
  static const std::string path = [] {
    std::string p = std::string(TANDEM_TEST_MODEL_DIR) + "/tiny-gpt2-distill.gguf";
    if (!std::filesystem::exists(p)) {
      llm::TestModelSpec spec =
          llm::tiny_test_model(std::string(TANDEM_LLAMA_VOCAB_DIR) + "/ggml-vocab-gpt-2.gguf");
      spec.init_std = 1.0f;
      spec.seed = 7;
      std::string tmp = p + ".tmp" + std::to_string(::getpid());
      llm::write_test_model(spec, tmp);
      std::filesystem::rename(tmp, p);
    }
    return p;
  }();
  return path;
}

std::string distill_config(const std::filesystem::path& dir) {
  std::string toml = R"(
[server]
log_level = "error"
task_timeout_ms = 60000
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
[models.tiny]
routes = [{ provider = "gguf", model = "tiny" }]

[tasks.t]
labels = ["negative", "positive"]
record = "{DIR}/records.jsonl"
[tasks.t.variants.llm]
kind = "llm"
model = "tiny"
template = "Label the sentiment of this review: {{ text }}"
confidence = "none"
max_tokens = 24
[tasks.t.policy]
kind = "single"
[tasks.t.distill]
teacher = "llm"
artifact = "{DIR}/distilled.tandem"
agreement = 0.5
min_records = 24
)";
  replace_all(toml, "{MODEL}", teacher_model_path());
  replace_all(toml, "{DIR}", dir.string());
  return toml;
}

// Varied review-like texts, all distinct.
std::string review(int i) {
  static const char* adjectives[] = {"great", "awful", "bland", "fresh", "stale",
                                     "tasty", "odd",   "cheap", "rich",  "sweet"};
  static const char* things[] = {"coffee", "tea", "bread", "soup", "cereal", "sauce", "snack"};
  static const char* endings[] = {"would buy again", "never again",  "arrived late",
                                  "for the kids",    "as described", "too salty"};
  return std::string("the ") + adjectives[i % 10] + " " + things[(i / 10) % 7] + ", " +
         endings[(i / 3) % 6] + " (" + std::to_string(i) + ")";
}

json::object ask(Gateway& gw, const std::string& text) {
  HttpResult r = gw.post("/v1/tasks/t", json::serialize(json::object{{"input", text}}));
  EXPECT_EQ(r.status, 200) << r.body;
  return json::parse(r.body.empty() ? "{}" : r.body).as_object();
}

std::size_t lines_in(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);) n += line.empty() ? 0 : 1;
  return n;
}

// About 50 label-constrained answers of the tiny model (a bare JSON-string label on a local
// route keeps each to a few decode steps), then the distillation, the reload and the cascade.
TEST(Distill, TinyModelAnswersBecomeTheCascadesFirstStage) {
  auto dir =
      std::filesystem::temp_directory_path() / ("tandem-distill-llm-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string toml = distill_config(dir);
  Gateway gw(toml);

  // 1. The LLM answers every request, and the gateway records it.
  constexpr int kRequests = 48;
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      for (int i = c; i < kRequests; i += 4) ask(gw, review(i));
    });
  }
  for (auto& t : clients) t.join();
  const auto records = dir / "records.jsonl";
  for (int wait = 0; wait < 200 && lines_in(records) < kRequests; ++wait) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(lines_in(records), static_cast<std::size_t>(kRequests));

  // 2. Distil, as `tandem distill -c ... --task t` does.
  auto loaded = config::parse_config(toml, "test.toml",
                                     [](std::string_view) { return std::optional<std::string>(); });
  ASSERT_TRUE(loaded.config.has_value());
  const config::TaskConfig* task = loaded.config->find_task("t");
  ASSERT_NE(task, nullptr);
  tasks::DistillResult d = tasks::distill_task(*task, {});
  EXPECT_EQ(d.records.examples.size(), static_cast<std::size_t>(kRequests));
  EXPECT_EQ(d.train + d.fit.held_out, static_cast<std::size_t>(kRequests));
  for (const auto& [label, count] : d.label_counts) std::printf("  %s %zu\n", label.c_str(), count);
  std::printf("held out %zu: agreement %.3f overall, %.3f at threshold %.4f (coverage %.3f)\n",
              d.fit.held_out, d.fit.agreement_all, d.fit.chosen.agreement, d.fit.chosen.threshold,
              d.fit.chosen.coverage);
  ASSERT_TRUE(d.state.accepted) << "agreement " << d.fit.chosen.agreement;
  EXPECT_GE(d.fit.chosen.agreement, 0.5);
  EXPECT_GT(d.fit.cost_saved_share, 0.0);
  const double threshold = d.state.threshold;

  // 3. A reload puts the distilled model first, with the fitted threshold.
  HttpResult reload = gw.post("/v1/tasks/t/reload", "");
  ASSERT_EQ(reload.status, 200) << reload.body;
  HttpResult list = gw.get("/v1/tasks");
  ASSERT_EQ(list.status, 200);
  json::object t = json::parse(list.body).at("data").as_array().at(0).as_object();
  const json::object& policy = t.at("policy").as_object();
  EXPECT_EQ(policy.at("kind").as_string(), "cascade");
  ASSERT_EQ(policy.at("variants").as_array().size(), 2u);
  EXPECT_EQ(policy.at("variants").as_array()[0].as_string(), "distilled");
  EXPECT_EQ(policy.at("variants").as_array()[1].as_string(), "llm");
  EXPECT_DOUBLE_EQ(policy.at("thresholds").as_array()[0].to_number<double>(), threshold);
  EXPECT_EQ(t.at("distilled").as_object().at("teacher").as_string(), "llm");

  // 4. The distilled model answers what it is sure of without an LLM call; the rest escalate.
  // Texts on both sides of the threshold, chosen with the model the gateway now serves.
  auto model = models::text::TextClassifier::load(task->distill->artifact);
  std::vector<std::string> sure, unsure;
  for (int i = 0; i < 2000 && (sure.size() < 4 || unsure.size() < 4); ++i) {
    std::string text = i % 2 == 0 ? review(i) : "unseen words " + std::to_string(i * 31) + " zq";
    auto& bucket = model->predict(text, 0).confidence >= threshold ? sure : unsure;
    if (bucket.size() < 8) bucket.push_back(text);
  }
  ASSERT_FALSE(sure.empty());
  ASSERT_FALSE(unsure.empty()) << "every text clears the threshold " << threshold;
  int kept = 0, escalated = 0;
  for (const auto* texts : {&sure, &unsure}) {
    for (const std::string& text : *texts) {
      json::object r = ask(gw, text);
      const json::array& steps = r.at("route").as_object().at("steps").as_array();
      ASSERT_FALSE(steps.empty());
      const json::object& first = steps[0].as_object();
      ASSERT_EQ(first.at("variant").as_string(), "distilled");
      const std::int64_t tokens =
          r.at("usage").as_object().at("total_tokens").to_number<std::int64_t>();
      if (texts == &sure) {
        ++kept;
        EXPECT_EQ(steps.size(), 1u);
        EXPECT_EQ(r.at("variant").as_string(), "distilled");
        EXPECT_EQ(tokens, 0);
      } else {
        ++escalated;
        EXPECT_LT(first.at("confidence").to_number<double>(), threshold);
        ASSERT_EQ(steps.size(), 2u);
        EXPECT_EQ(steps[1].as_object().at("variant").as_string(), "llm");
        EXPECT_EQ(r.at("variant").as_string(), "llm");
        EXPECT_GT(tokens, 0);
      }
    }
  }
  std::printf("after the reload: %d answered by the distilled model, %d escalated\n", kept,
              escalated);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tandem::testing
