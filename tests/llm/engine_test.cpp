// llm::Engine on the tiny random-weight model: loading, tokenising, seeded generation,
// continuous batching, stop sequences, cancellation, embeddings and LoRA adapters.
#include <gtest/gtest.h>
#include <sampling.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <thread>

#include "tandem/llm/engine.h"
#include "test_models.h"

namespace tandem::llm {
namespace {

using testing::tiny_engine_config;

std::shared_ptr<common_params_sampling> seeded(std::uint32_t seed, float temp = 1.0f) {
  auto s = std::make_shared<common_params_sampling>();
  s->seed = seed;
  s->temp = temp;
  s->top_k = 0;
  s->top_p = 1.0f;
  s->min_p = 0.0f;
  s->no_perf = true;
  return s;
}

struct Output {
  std::string text;
  GenerationEnd end;
};

// Blocks until the generation ends (tests only: the gateway never blocks a thread on it).
Output wait_for(Generation& g) {
  Output out;
  while (true) {
    auto taken = g.take();
    out.text += taken.text;
    if (taken.ended) {
      out.end = taken.end;
      return out;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

GenerationRequest request(Engine& e, std::string_view text, int max_tokens, std::uint32_t seed) {
  GenerationRequest r;
  r.prompt = e.tokenize(text, true, true);
  r.max_tokens = max_tokens;
  r.sampling = seeded(seed);
  return r;
}

TEST(Engine, LoadsAndTokenises) {
  Engine e(tiny_engine_config());
  auto tokens = e.tokenize("Hello world", false, false);
  ASSERT_FALSE(tokens.empty());
  std::string back;
  for (auto t : tokens) back += e.token_text(t);
  EXPECT_EQ(back, "Hello world");
  EXPECT_EQ(e.n_vocab(), 151936 + 0 * e.n_vocab()) << "the Qwen2 vocabulary";
}

TEST(Engine, MissingFileIsAClearError) {
  auto c = tiny_engine_config();
  c.path = "/nonexistent/model.gguf";
  try {
    Engine e(c);
    FAIL() << "expected an error";
  } catch (const EngineError& err) {
    EXPECT_NE(std::string(err.what()).find("/nonexistent/model.gguf"), std::string::npos);
  }
}

TEST(Engine, CorruptFileIsAClearError) {
  std::string path = ::testing::TempDir() + "/corrupt.gguf";
  {
    std::ifstream in(testing::tiny_model_path(), std::ios::binary);
    std::string head(4096, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    std::ofstream(path, std::ios::binary) << head;  // truncated after the header
  }
  auto c = tiny_engine_config();
  c.path = path;
  EXPECT_THROW(Engine e(c), EngineError);
  std::ofstream(path, std::ios::binary) << "not a model at all";
  try {
    Engine e(c);
    FAIL() << "expected an error";
  } catch (const EngineError& err) {
    EXPECT_NE(std::string(err.what()).find("not a GGUF"), std::string::npos) << err.what();
  }
}

TEST(Engine, SeededGenerationIsDeterministic) {
  Engine e(tiny_engine_config());
  auto a = wait_for(*e.generate(request(e, "Once upon a time", 24, 7)));
  auto b = wait_for(*e.generate(request(e, "Once upon a time", 24, 7)));
  auto c = wait_for(*e.generate(request(e, "Once upon a time", 24, 8)));
  EXPECT_EQ(a.end.finish_reason, "length");
  EXPECT_EQ(a.end.completion_tokens, 24);
  EXPECT_FALSE(a.text.empty());
  EXPECT_EQ(a.text, b.text);
  EXPECT_NE(a.text, c.text) << "another seed samples another text";
  // The second run found the whole prompt (but its last token) in the KV cache.
  EXPECT_EQ(b.end.cached_tokens, b.end.prompt_tokens - 1);
  EXPECT_GT(a.end.compute_seconds, 0.0);
}

TEST(Engine, ConcurrentRequestsShareBatchesAndMatchSerialRuns) {
  Engine serial(tiny_engine_config(1));
  std::vector<std::string> prompts = {"The cat", "A quick brown fox jumps", "Numbers: 1 2 3",
                                      "Tandem serves models"};
  std::vector<std::string> expected;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    expected.push_back(wait_for(*serial.generate(request(serial, prompts[i], 20, 100 + i))).text);
  }
  Engine batched(tiny_engine_config(4));
  std::vector<std::shared_ptr<Generation>> running;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    running.push_back(batched.generate(request(batched, prompts[i], 20, 100 + i)));
  }
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    EXPECT_EQ(wait_for(*running[i]).text, expected[i]) << "prompt " << i;
  }
  EXPECT_GE(batched.stats().max_batch_sequences, 2) << "requests decoded together";
}

TEST(Engine, RequestsArrivingInABurstStartInOneStep) {
  // A client's concurrent calls reach the engine one by one, each after the network thread has
  // prepared it. An idle engine waits for the burst (llm/start_window.h) instead of decoding the
  // first prompt alone. The gap here is wide so that a loaded machine cannot break the burst.
  auto config = tiny_engine_config(4);
  config.start_gap_ms = 500;
  config.start_max_ms = 5000;
  Engine e(config);
  std::vector<std::shared_ptr<Generation>> running;
  for (int i = 0; i < 4; ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    running.push_back(e.generate(request(e, "Burst " + std::to_string(i), 8, 40 + i)));
  }
  for (auto& g : running) EXPECT_EQ(wait_for(*g).end.completion_tokens, 8);
  EXPECT_EQ(e.stats().max_start_sequences, 4) << "all four started in the engine's first step";

  // Without a window each request that finds the engine idle starts alone.
  config.start_gap_ms = 0;
  Engine alone(config);
  auto first = alone.generate(request(alone, "Alone", 8, 1));
  wait_for(*first);
  EXPECT_EQ(alone.stats().max_start_sequences, 1);
}

TEST(Engine, IgnoreEosRunsPastTheEndOfGenerationToken) {
  // The random model ends some replies early: find one, then ask again with ignore_eos. Its
  // embeddings are tied to its output, so a prompt that ends in an end-of-generation token makes
  // that token likely next.
  Engine e(tiny_engine_config(4));
  std::optional<GenerationRequest> ended;
  Output early;
  for (std::uint32_t seed = 1; seed <= 40 && !ended; ++seed) {
    GenerationRequest r =
        request(e, "Tell a story<|im_end|>\n<|endoftext|><|im_end|><|endoftext|>", 32, seed);
    Output out = wait_for(*e.generate(r));
    if (out.end.finish_reason == "stop" && out.end.completion_tokens > 1) {
      ended = r;
      early = out;
    }
  }
  ASSERT_TRUE(ended) << "no sampled reply of the tiny model ended with an end-of-generation token";
  GenerationRequest sampled = *ended;
  sampled.ignore_eos = true;
  Output longer = wait_for(*e.generate(sampled));
  EXPECT_EQ(longer.end.finish_reason, "length");
  EXPECT_EQ(longer.end.completion_tokens, 32);

  // Greedy: masking the end-of-generation tokens changes the pick only where one of them was the
  // best, so the reply without ignore_eos is the start of the reply with it.
  GenerationRequest greedy = *ended;
  greedy.sampling = seeded(1, 0.0f);
  Output plain = wait_for(*e.generate(greedy));
  greedy.ignore_eos = true;
  Output forced = wait_for(*e.generate(greedy));
  EXPECT_EQ(forced.end.finish_reason, "length");
  EXPECT_EQ(forced.end.completion_tokens, 32);
  EXPECT_EQ(forced.text.substr(0, plain.text.size()), plain.text);
  if (plain.end.finish_reason == "stop") {
    EXPECT_GT(forced.text.size(), plain.text.size());
  }
}

TEST(Engine, GreedyArgmaxPicksWhatTheSamplerChainPicks) {
  // Greedy requests take the logits' argmax without llama.cpp's sampler chain; a request that
  // asks for logprobs keeps the chain. Both must give the same text, alone and batched.
  Engine e(tiny_engine_config(4));
  std::vector<std::string> prompts = {"The cat", "A quick brown fox jumps", "Numbers: 1 2 3",
                                      "Tandem serves models"};
  auto greedy = [&](const std::string& prompt, bool logprobs) {
    GenerationRequest r = request(e, prompt, 24, 1);
    r.sampling = seeded(1, 0.0f);
    r.logprobs = logprobs;
    return r;
  };
  std::vector<std::string> chain;
  for (const auto& p : prompts) chain.push_back(wait_for(*e.generate(greedy(p, true))).text);
  EXPECT_EQ(e.stats().greedy_tokens, 0u) << "logprobs keep the sampler chain";
  std::uint64_t tokens = 0;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    Output out = wait_for(*e.generate(greedy(prompts[i], false)));
    EXPECT_EQ(out.text, chain[i]) << "prompt " << i;
    tokens += static_cast<std::uint64_t>(out.end.completion_tokens);
  }
  EXPECT_GT(tokens, 0u);
  EXPECT_EQ(e.stats().greedy_tokens, tokens);
  std::vector<std::shared_ptr<Generation>> running;
  for (const auto& p : prompts) running.push_back(e.generate(greedy(p, false)));
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    EXPECT_EQ(wait_for(*running[i]).text, chain[i]) << "batched prompt " << i;
  }
  EXPECT_EQ(e.stats().greedy_tokens, 2 * tokens);
  // A setting that changes logits (a repeat penalty) is not plain greedy.
  GenerationRequest penalised = greedy(prompts[0], false);
  penalised.sampling->penalty_repeat = 1.3f;
  wait_for(*e.generate(std::move(penalised)));
  EXPECT_EQ(e.stats().greedy_tokens, 2 * tokens);
}

TEST(Engine, StopSequenceEndsAndIsNotReturned) {
  Engine e(tiny_engine_config());
  auto free_run = wait_for(*e.generate(request(e, "Stop test", 30, 3)));
  ASSERT_GE(free_run.text.size(), 6u);
  // A stop string of three ASCII characters from the middle of the free run (a stop string is
  // text: it never starts inside a multi-byte character).
  std::size_t at = free_run.text.size() / 3;
  auto ascii = [&](std::size_t i) { return static_cast<unsigned char>(free_run.text[i]) < 0x80; };
  while (at + 3 < free_run.text.size() && !(ascii(at) && ascii(at + 1) && ascii(at + 2))) ++at;
  ASSERT_LT(at + 3, free_run.text.size()) << "no ASCII run in " << free_run.text;
  std::string stop = free_run.text.substr(at, 3);
  auto r = request(e, "Stop test", 30, 3);
  r.stop = {stop};
  auto stopped = wait_for(*e.generate(std::move(r)));
  EXPECT_EQ(stopped.end.finish_reason, "stop");
  EXPECT_EQ(stopped.text, free_run.text.substr(0, free_run.text.find(stop)));
}

TEST(Engine, CancelFreesTheSequence) {
  Engine e(tiny_engine_config(1));
  auto long_run = e.generate(request(e, "A long story", 400, 1));
  auto queued = e.generate(request(e, "Waiting", 5, 2));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  long_run->cancel();
  auto cancelled = wait_for(*long_run);
  EXPECT_EQ(cancelled.end.error, "cancelled");
  EXPECT_LT(cancelled.end.completion_tokens, 400);
  // The only slot was freed, so the queued request runs to its end.
  auto next = wait_for(*queued);
  EXPECT_EQ(next.end.finish_reason, "length");
  EXPECT_EQ(next.end.completion_tokens, 5);
}

TEST(Engine, GenerationStopsAtTheContextEnd) {
  Engine e(tiny_engine_config(1, 64));
  auto r = wait_for(*e.generate(request(e, "Fill the context", -1, 1)));
  EXPECT_EQ(r.end.finish_reason, "length");
  EXPECT_LT(r.end.prompt_tokens + r.end.completion_tokens, 65);
}

TEST(Engine, PromptThatDoesNotFitFailsClearly) {
  Engine e(tiny_engine_config(1, 32));
  std::string text;
  for (int i = 0; i < 40; ++i) text += "word ";
  auto r = wait_for(*e.generate(request(e, text, 5, 1)));
  EXPECT_NE(r.end.error.find("the context holds 32"), std::string::npos) << r.end.error;
  auto ok = wait_for(*e.generate(request(e, "short", 3, 1)));
  EXPECT_EQ(ok.end.completion_tokens, 3) << "the engine goes on";
}

TEST(Engine, EmbeddingsArePooledAndNormalised) {
  auto c = tiny_engine_config();
  c.path = testing::tiny_embedding_model_path();
  c.embeddings = true;
  Engine e(c);
  auto job = e.embed({e.tokenize("first text", true, false), e.tokenize("second", true, false),
                      e.tokenize("first text", true, false)});
  while (!job->done()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_TRUE(job->error.empty()) << job->error;
  ASSERT_EQ(job->vectors.size(), 3u);
  ASSERT_EQ(job->vectors[0].size(), 64u);
  double norm = 0, diff01 = 0, diff02 = 0;
  for (std::size_t d = 0; d < 64; ++d) {
    norm += job->vectors[0][d] * job->vectors[0][d];
    diff01 += std::abs(job->vectors[0][d] - job->vectors[1][d]);
    diff02 += std::abs(job->vectors[0][d] - job->vectors[2][d]);
  }
  EXPECT_NEAR(norm, 1.0, 1e-4);
  EXPECT_GT(diff01, 1e-3) << "different texts, different vectors";
  EXPECT_LT(diff02, 1e-4) << "same text, same vector";
  EXPECT_GT(job->prompt_tokens, 0);
}

TEST(Engine, ChatModelRefusesNoEmbeddingModelWithoutPooling) {
  auto c = tiny_engine_config();
  c.embeddings = true;  // the chat model declares no pooling
  EXPECT_THROW(Engine e(c), EngineError);
}

TEST(Engine, LoraAdaptersChangeOutputAndSwitchPerRequest) {
  auto c = tiny_engine_config();
  c.loras = {{"a", testing::tiny_lora_path(0), 1.0f}, {"b", testing::tiny_lora_path(1), 1.0f}};
  Engine e(c);
  auto run = [&](int lora) {
    auto r = request(e, "Adapters", 16, 5);
    r.lora = lora;
    return e.generate(std::move(r));
  };
  std::string base = wait_for(*run(-1)).text;
  std::string a = wait_for(*run(0)).text;
  std::string b = wait_for(*run(1)).text;
  EXPECT_NE(base, a);
  EXPECT_NE(a, b);
  // Interleaved requests with different adapters each get their own adapter's output.
  auto g1 = run(0), g2 = run(-1), g3 = run(1);
  EXPECT_EQ(wait_for(*g1).text, a);
  EXPECT_EQ(wait_for(*g2).text, base);
  EXPECT_EQ(wait_for(*g3).text, b);
}

TEST(Engine, BadLoraFileIsAClearError) {
  auto c = tiny_engine_config();
  c.loras = {{"broken", testing::tiny_model_path(), 1.0f}};  // a model, not an adapter
  try {
    Engine e(c);
    FAIL() << "expected an error";
  } catch (const EngineError& err) {
    EXPECT_NE(std::string(err.what()).find("broken"), std::string::npos) << err.what();
  }
}

}  // namespace
}  // namespace tandem::llm
