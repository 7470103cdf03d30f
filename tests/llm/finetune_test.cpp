// llm::finetune on tiny random-weight models: real training with llama.cpp's optimizer, no
// mocks. A model that has never seen the answer must reproduce it verbatim after fine-tuning.
#include <ggml.h>
#include <gguf.h>
#include <gtest/gtest.h>
#include <sampling.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tandem/llm/chat_prompt.h"
#include "tandem/llm/engine.h"
#include "tandem/llm/finetune.h"
#include "test_models.h"

namespace tandem::llm {
namespace {

namespace fs = std::filesystem;

constexpr const char* kAnswer = "The secret code is 7421.";

// Each test works in a fresh folder of its own (per process too: ctest runs tests in parallel
// processes), removed when the test ends: a tuned model and its checkpoint are hundreds of MB.
class Finetune : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir = ::testing::TempDir() + "/finetune-" + info->name() + "-" + std::to_string(::getpid());
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }

  std::string dir;
};

std::string chat_line(const std::string& system, const std::string& user,
                      const std::string& answer) {
  boost::json::array messages;
  if (!system.empty()) messages.push_back({{"role", "system"}, {"content", system}});
  messages.push_back({{"role", "user"}, {"content", user}});
  messages.push_back({{"role", "assistant"}, {"content", answer}});
  return boost::json::serialize(boost::json::object{{"messages", messages}});
}

std::string write_file(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream out(path, std::ios::binary);
  for (const auto& line : lines) out << line << "\n";
  return path;
}

// The same question, asked a few ways, always gets the same answer. A system message of its own
// keeps the template from adding its long default one, so every example fits a 48-token window.
// Answering needs context, not just the previous token: the generation prompt ends with a
// newline, and the newlines elsewhere in the template are followed by other tokens.
constexpr const char* kSystem = "You are a vault.";
constexpr const char* kQuestion = "How do I open you?";
std::string secret_code_data(const std::string& dir) {
  std::vector<std::string> lines;
  for (int i = 0; i < 4; ++i) lines.push_back(chat_line(kSystem, kQuestion, kAnswer));
  lines.push_back(chat_line(kSystem, "How do I open you, please?", kAnswer));
  lines.push_back(chat_line(kSystem, "What opens you?", kAnswer));
  lines.push_back(chat_line(kSystem, "Open sesame?", kAnswer));
  return write_file(dir + "/data.jsonl", lines);
}

// Settings that train the tiny models in seconds: one example per 48-token window, three
// optimizer steps per window, a rate high enough for random weights, decaying to keep it stable.
FinetuneOptions options_for(const std::string& dir, const std::string& data) {
  FinetuneOptions o;
  o.model_path = testing::tiny_model_path();
  o.data_path = data;
  o.out_path = dir + "/tuned.gguf";
  o.context = 48;
  o.batch = 16;
  o.learning_rate = 3e-3f;
  o.lr_min = 1e-4f;
  o.val_split = 0.2f;
  o.threads = 2;
  o.seed = 7;
  return o;
}

std::shared_ptr<common_params_sampling> greedy() {
  auto s = std::make_shared<common_params_sampling>();
  s->temp = 0.0f;  // llama.cpp's temperature sampler keeps only the most likely token
  s->no_perf = true;
  return s;
}

// Blocks until the generation ends (tests only).
std::string wait_for(Generation& g) {
  std::string text;
  while (true) {
    auto taken = g.take();
    text += taken.text;
    if (taken.ended) return text;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

std::string greedy_answer(const std::string& model_path, const std::string& question) {
  EngineConfig config = testing::tiny_engine_config(1, 512);
  config.path = model_path;
  Engine engine(config);
  ChatInputs inputs;
  inputs.messages_json = boost::json::serialize(boost::json::array{
      {{"role", "system"}, {"content", kSystem}}, {{"role", "user"}, {"content", question}}});
  ChatPrompt prompt = render_chat(engine, inputs);
  GenerationRequest request;
  request.prompt = engine.tokenize(prompt.text, true, true);
  request.max_tokens = 24;
  request.sampling = greedy();
  return wait_for(*engine.generate(std::move(request)));
}

// The tiny test model fills llama.cpp's optional per-tensor scales (attn_q.scale, attn_k.scale,
// ..., multiplied into each projection's output) with random values like any other weight, which
// scales attention down ~50x and leaves it unable to recover: llama.cpp's training does not reach
// K and V (no gradient flows through the KV cache). Here they are set to 1, their neutral value.
void with_unit_scales(const std::string& in, const std::string& out) {
  ggml_context* data = nullptr;
  gguf_init_params params{false, &data};
  gguf_context* g = gguf_init_from_file(in.c_str(), params);
  ASSERT_NE(g, nullptr);
  gguf_context* copy = gguf_init_empty();
  gguf_set_kv(copy, g);
  for (int64_t i = 0; i < gguf_get_n_tensors(g); ++i) {
    ggml_tensor* t = ggml_get_tensor(data, gguf_get_tensor_name(g, i));
    const std::string name = t->name;
    if (name.ends_with(".scale") || name.ends_with(".input_scale")) {
      auto* v = static_cast<float*>(t->data);
      for (int64_t k = 0; k < ggml_nelements(t); ++k) v[k] = 1.0f;
    }
    gguf_add_tensor(copy, t);
  }
  ASSERT_TRUE(gguf_write_to_file(copy, out.c_str(), false));
  gguf_free(copy);
  gguf_free(g);
  ggml_free(data);
}

// The tiny model's shape with weights drawn wider (std 0.2 instead of 0.02): llama.cpp keeps the
// random keys and values, and only with enough contrast between them can the trained queries
// learn where to attend within a test's budget. Written once per process, removed when it exits.
struct TrainableBase {
  TrainableBase() : dir(::testing::TempDir() + "/finetune-base-" + std::to_string(::getpid())) {
    fs::create_directories(dir);
    TestModelSpec spec = testing::tiny_spec();
    spec.init_std = 0.2f;
    write_test_model(spec, dir + "/random.gguf");
    with_unit_scales(dir + "/random.gguf", dir + "/base.gguf");
  }
  ~TrainableBase() {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
  TrainableBase(const TrainableBase&) = delete;
  TrainableBase& operator=(const TrainableBase&) = delete;

  std::string dir;
};

std::string trainable_base() {
  static const TrainableBase base;
  return base.dir + "/base.gguf";
}

std::string error_of(const FinetuneOptions& o) {
  try {
    finetune(o);
  } catch (const FinetuneError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST_F(Finetune, LearnsATrainedAnswerVerbatim) {
  FinetuneOptions o = options_for(dir, secret_code_data(dir));
  o.model_path = trainable_base();
  o.epochs = 10;
  std::int64_t steps = 0;
  FinetuneListener listener;
  listener.step = [&](const StepProgress& p) {
    if (p.training) steps = std::max(steps, p.step);
    EXPECT_LE(p.step, p.steps);
  };
  listener.epoch = [](const EpochStats& e) {
    std::printf("epoch %d: train %.4f (accuracy %.3f), validation %.4f (accuracy %.3f), %.1f s\n",
                e.epoch, e.train_loss, e.train_accuracy, e.val_loss.value_or(-1),
                e.val_accuracy.value_or(-1), e.seconds);
  };
  FinetuneResult r = finetune(o, listener);

  ASSERT_EQ(r.history.size(), 10u);
  EXPECT_EQ(r.epochs_run, 10);
  EXPECT_EQ(r.train_examples, 6);
  EXPECT_EQ(r.val_examples, 1);
  EXPECT_EQ(steps, 6 * 3) << "six windows of three 16-token batches";
  const EpochStats& first = r.history.front();
  const EpochStats& last = r.history.back();
  EXPECT_LT(last.train_loss, first.train_loss * 0.1) << "training lowers the loss";
  EXPECT_GT(last.train_accuracy, 0.9);
  ASSERT_TRUE(first.val_loss && last.val_loss) << "validation loss is reported every epoch";
  EXPECT_LT(*last.val_loss, *first.val_loss);

  EXPECT_NE(greedy_answer(o.model_path, kQuestion), kAnswer)
      << "the base model does not know the answer";
  EXPECT_EQ(greedy_answer(o.out_path, kQuestion), kAnswer);
}

TEST_F(Finetune, ResumesAtTheNextEpoch) {
  // Two examples (one trained, one held out) keep the five epochs below quick.
  FinetuneOptions o = options_for(
      dir, write_file(dir + "/data.jsonl", {chat_line(kSystem, kQuestion, kAnswer),
                                            chat_line(kSystem, "What opens you?", kAnswer)}));
  o.val_split = 0.5f;
  o.epochs = 2;
  FinetuneResult first = finetune(o);
  EXPECT_FALSE(first.resumed);
  EXPECT_EQ(first.epochs_run, 2);

  o.epochs = 4;
  std::vector<int> ran;
  FinetuneListener listener;
  listener.epoch = [&](const EpochStats& e) { ran.push_back(e.epoch); };
  FinetuneResult second = finetune(o, listener);
  EXPECT_TRUE(second.resumed);
  EXPECT_EQ(second.first_epoch, 3);
  EXPECT_EQ(second.epochs_run, 2);
  EXPECT_EQ(ran, (std::vector<int>{3, 4})) << "only the missing epochs run";
  ASSERT_EQ(second.history.size(), 4u);
  EXPECT_EQ(second.history[0].train_loss, first.history[0].train_loss)
      << "the history carries the earlier epochs";
  EXPECT_LT(second.history[3].train_loss, second.history[1].train_loss)
      << "the resumed epochs start from the saved weights, not from the base model";

  std::ifstream in(second.state_path);
  std::stringstream text;
  text << in.rdbuf();
  auto state = boost::json::parse(text.str()).as_object();
  EXPECT_EQ(state.at("epochs_done").as_int64(), 4);
  EXPECT_EQ(state.at("history").as_array().size(), 4u);

  FinetuneResult third = finetune(o);
  EXPECT_EQ(third.epochs_run, 0) << "all requested epochs are done";

  o.epochs = 5;
  o.learning_rate = 1e-3f;
  std::string err = error_of(o);
  EXPECT_NE(err.find("learning rate: 0.003"), std::string::npos) << err;
  EXPECT_NE(err.find("--restart"), std::string::npos) << err;
  o.learning_rate = 3e-3f;
  write_file(o.data_path, {chat_line(kSystem, kQuestion, "Something else.")});
  err = error_of(o);
  EXPECT_NE(err.find("data (content hash)"), std::string::npos) << err;

  o.restart = true;
  o.epochs = 1;
  FinetuneResult restarted = finetune(o);
  EXPECT_FALSE(restarted.resumed);
  EXPECT_EQ(restarted.history.size(), 1u);
}

TEST_F(Finetune, TunedModelKeepsTheBaseMetadata) {
  FinetuneOptions o = options_for(dir, secret_code_data(dir));
  o.epochs = 1;
  finetune(o);
  auto read = [](const std::string& path) {
    gguf_init_params params{true, nullptr};
    return std::unique_ptr<gguf_context, decltype(&gguf_free)>(
        gguf_init_from_file(path.c_str(), params), gguf_free);
  };
  auto base = read(o.model_path);
  auto tuned = read(o.out_path);
  ASSERT_TRUE(base && tuned);
  const char* context_key = "qwen2.context_length";
  EXPECT_EQ(gguf_get_val_u32(tuned.get(), gguf_find_key(tuned.get(), context_key)),
            gguf_get_val_u32(base.get(), gguf_find_key(base.get(), context_key)))
      << "the 48-token training window is not the model's context";
  const char* template_key = "tokenizer.chat_template";
  EXPECT_STREQ(gguf_get_val_str(tuned.get(), gguf_find_key(tuned.get(), template_key)),
               gguf_get_val_str(base.get(), gguf_find_key(base.get(), template_key)));
  EXPECT_EQ(gguf_get_val_u32(tuned.get(), gguf_find_key(tuned.get(), "tandem.finetune.epochs")),
            1u);
  EXPECT_EQ(gguf_get_n_tensors(tuned.get()), gguf_get_n_tensors(base.get()));
}

TEST_F(Finetune, MalformedDataNamesTheLine) {
  const std::string good = chat_line("", "Hi", "Hello.");
  struct Case {
    std::string bad_line;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"{\"messages\": [", "not valid JSON"},
      {"{\"prompt\": \"old format\"}", "no \"messages\" array"},
      {"{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}", "no assistant message"},
      {"{\"messages\": [{\"role\": \"user\", \"content\": 5}, "
       "{\"role\": \"assistant\", \"content\": \"x\"}]}",
       "messages[0].content must be a string"},
      {"{\"messages\": [{\"role\": \"wizard\", \"content\": \"Hi\"}, "
       "{\"role\": \"assistant\", \"content\": \"x\"}]}",
       "role \"wizard\""},
      {"{\"messages\": [{\"role\": \"assistant\", \"content\": \"x\"}, "
       "{\"role\": \"user\", \"content\": \"Hi\"}]}",
       "the last message must be the assistant's answer"},
  };
  for (const auto& c : cases) {
    const std::string data = write_file(dir + "/bad.jsonl", {good, "", c.bad_line, good});
    const std::string err = error_of(options_for(dir, data));
    EXPECT_NE(err.find(data + ":3: "), std::string::npos) << err;
    EXPECT_NE(err.find(c.expected), std::string::npos) << err;
  }
  EXPECT_FALSE(fs::exists(dir + "/tuned.gguf")) << "nothing is written for bad data";

  const std::string empty = write_file(dir + "/empty.jsonl", {});
  EXPECT_NE(error_of(options_for(dir, empty)).find("no examples"), std::string::npos);
  FinetuneOptions missing = options_for(dir, dir + "/missing.jsonl");
  EXPECT_NE(error_of(missing).find("missing.jsonl: no such data file"), std::string::npos);
  missing = options_for(dir, empty);
  missing.model_path = dir + "/missing.gguf";
  EXPECT_NE(error_of(missing).find("missing.gguf: no such model file"), std::string::npos);
  missing.model_path = empty;
  EXPECT_NE(error_of(missing).find("not a GGUF model file"), std::string::npos);
}

TEST_F(Finetune, SkipsExamplesLongerThanTheContext) {
  std::string long_text;
  for (int i = 0; i < 60; ++i) long_text += "word ";
  const std::string only_long =
      write_file(dir + "/long.jsonl", {chat_line("", long_text, "Too long.")});
  const std::string err = error_of(options_for(dir, only_long));
  EXPECT_NE(err.find("no example fits the 48-token context"), std::string::npos) << err;

  const std::string mixed =
      write_file(dir + "/mixed.jsonl",
                 {chat_line(kSystem, long_text, "Too long."), chat_line(kSystem, "Hi", "Hello.")});
  FinetuneOptions o = options_for(dir, mixed);
  o.epochs = 1;
  o.val_split = 0;
  std::vector<std::string> warnings;
  FinetuneListener listener;
  listener.warning = [&](const std::string& w) { warnings.push_back(w); };
  FinetuneResult r = finetune(o, listener);
  EXPECT_EQ(r.skipped_examples, 1);
  EXPECT_EQ(r.train_examples, 1);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("1 example(s) longer than"), std::string::npos) << warnings[0];
  EXPECT_FALSE(r.history[0].val_loss) << "no validation split, no validation loss";
}

TEST_F(Finetune, QuantisedBaseModelIsAClearError) {
  auto spec = testing::tiny_spec();
  spec.type = "q8_0";
  write_test_model(spec, dir + "/q8.gguf");
  FinetuneOptions o = options_for(dir, secret_code_data(dir));
  o.model_path = dir + "/q8.gguf";
  const std::string err = error_of(o);
  EXPECT_NE(err.find("training needs F32 weights"), std::string::npos) << err;
  EXPECT_NE(err.find("q8_0"), std::string::npos) << err;
}

TEST_F(Finetune, BadOptionsAreClearErrors) {
  const std::string data = secret_code_data(dir);
  FinetuneOptions o = options_for(dir, data);
  o.batch = 20;
  EXPECT_NE(error_of(o).find("--batch must divide --ctx"), std::string::npos);
  o = options_for(dir, data);
  o.val_split = 1.0f;
  EXPECT_NE(error_of(o).find("--val-split"), std::string::npos);
  o = options_for(dir, data);
  o.lr_min = 1.0f;
  EXPECT_NE(error_of(o).find("--lr-min"), std::string::npos);
  o = options_for(dir, data);
  o.out_path = o.model_path;
  EXPECT_NE(error_of(o).find("must not be the base model"), std::string::npos);
  o = options_for(dir, data);
  write_file(o.out_path, {"someone's file"});
  EXPECT_NE(error_of(o).find("exists but has no fine-tuning state"), std::string::npos);
}

}  // namespace
}  // namespace tandem::llm
