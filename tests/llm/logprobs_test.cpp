// Token logprobs of the local engine (llm/logprobs.h) on the tiny random-weight model: the
// normaliser with and without a grammar against a brute-force computation, and generations
// that report them (greedy, seeded, grammar-constrained, cut by a stop sequence).
#include <gtest/gtest.h>
#include <llama.h>
#include <sampling.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <random>
#include <thread>

#include "tandem/llm/engine.h"
#include "tandem/llm/utf8.h"
#include "test_models.h"

namespace tandem::llm {
namespace {

using testing::tiny_engine_config;

std::shared_ptr<common_params_sampling> sampling(std::uint32_t seed, float temp) {
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
  std::vector<TokenLogprob> logprobs;
  std::vector<std::size_t> pushes;  // logprob entries per pushed piece
  GenerationEnd end;
};

Output wait_for(Generation& g) {
  Output out;
  while (true) {
    auto taken = g.take();
    out.text += taken.text;
    if (!taken.text.empty() || !taken.logprobs.empty()) out.pushes.push_back(taken.logprobs.size());
    for (auto& lp : taken.logprobs) out.logprobs.push_back(std::move(lp));
    if (taken.ended) {
      out.end = taken.end;
      return out;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

GenerationRequest request(Engine& e, std::string_view text, int max_tokens,
                          std::shared_ptr<common_params_sampling> s, int top = -1) {
  GenerationRequest r;
  r.prompt = e.tokenize(text, true, true);
  r.max_tokens = max_tokens;
  r.sampling = std::move(s);
  r.logprobs = top >= 0;
  r.top_logprobs = std::max(top, 0);
  return r;
}

// Generated tokens (an end-of-generation token has no entry).
std::size_t expected_entries(const Output& o) {
  auto n = static_cast<std::size_t>(o.end.completion_tokens);
  return o.end.finish_reason == "stop" ? n - 1 : n;
}

void expect_well_formed(const Output& o, int top) {
  ASSERT_TRUE(o.end.error.empty()) << o.end.error;
  for (std::size_t i = 0; i < o.logprobs.size(); ++i) {
    const auto& lp = o.logprobs[i];
    EXPECT_LE(lp.logprob, 0.0f) << "token " << i;
    EXPECT_TRUE(std::isfinite(lp.logprob)) << "token " << i;
    EXPECT_LE(lp.top.size(), static_cast<std::size_t>(top));
    for (std::size_t k = 0; k < lp.top.size(); ++k) {
      EXPECT_LE(lp.top[k].logprob, 0.0f);
      if (k > 0) {
        EXPECT_GE(lp.top[k - 1].logprob, lp.top[k].logprob) << "sorted, token " << i;
      }
    }
  }
}

// -- the computation itself, against brute force --------------------------------------------

std::vector<float> random_logits(int n, std::uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = d(rng);
  return v;
}

// log softmax over the tokens `grammar` allows (all when null), in double precision.
std::vector<double> brute_force(const std::vector<float>& logits, llama_sampler* grammar) {
  std::vector<llama_token_data> all(logits.size());
  for (std::size_t i = 0; i < logits.size(); ++i) {
    all[i] = {static_cast<llama_token>(i), logits[i], 0.0f};
  }
  if (grammar != nullptr) {
    llama_token_data_array a{all.data(), all.size(), -1, false};
    llama_sampler_apply(grammar, &a);
  }
  double max = -INFINITY;
  for (const auto& t : all) max = std::max(max, static_cast<double>(t.logit));
  double sum = 0;
  for (const auto& t : all) {
    if (std::isfinite(t.logit)) sum += std::exp(t.logit - max);
  }
  std::vector<double> out(logits.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    out[i] = std::isfinite(all[i].logit) ? all[i].logit - max - std::log(sum) : -INFINITY;
  }
  return out;
}

std::unique_ptr<GrammarTracker> user_grammar(const Engine& e, const std::string& gbnf) {
  common_params_sampling p;
  p.grammar = common_grammar(COMMON_GRAMMAR_TYPE_USER, gbnf);
  return GrammarTracker::make(e.vocab(), p);
}

TEST(Logprobs, WholeVocabularyMatchesLogSoftmax) {
  Engine e(tiny_engine_config(1));
  const int n = e.n_vocab();
  auto logits = random_logits(n, 1, 3.0f);
  auto expected = brute_force(logits, nullptr);
  LogprobScratch scratch;
  std::vector<TokenProb> top;
  for (std::int32_t chosen : {0, 17, n - 1}) {
    float lp = token_logprobs(logits.data(), n, chosen, 5, nullptr, scratch, top);
    EXPECT_NEAR(lp, expected[static_cast<std::size_t>(chosen)], 1e-4);
  }
  ASSERT_EQ(top.size(), 5u);
  auto best = std::max_element(logits.begin(), logits.end()) - logits.begin();
  EXPECT_EQ(top[0].token, best);
  for (const auto& t : top)
    EXPECT_NEAR(t.logprob, expected[static_cast<std::size_t>(t.token)], 1e-4);
  std::vector<TokenProb> none;
  token_logprobs(logits.data(), n, 0, 0, nullptr, scratch, none);
  EXPECT_TRUE(none.empty());
}

TEST(Logprobs, GrammarRestrictsTheNormaliserToTheAllowedTokens) {
  Engine e(tiny_engine_config(1));
  const int n = e.n_vocab();
  auto grammar = user_grammar(e, R"(root ::= "cat" | "dog")");
  ASSERT_TRUE(grammar);
  // A flat distribution (every token checked) and a peaked one (the check stops early: the
  // tokens left out cannot move the normaliser).
  auto flat = random_logits(n, 2, 1.0f);
  auto peaked = random_logits(n, 3, 1.0f);
  const auto cat = e.tokenize("cat", false, false);
  const auto dog = e.tokenize("dog", false, false);
  ASSERT_EQ(cat.size(), 1u);
  ASSERT_EQ(dog.size(), 1u);
  peaked[static_cast<std::size_t>(cat[0])] = 30.0f;
  peaked[static_cast<std::size_t>(dog[0])] = 29.0f;
  for (const auto* logits : {&flat, &peaked}) {
    auto expected = brute_force(*logits, grammar->sampler());
    LogprobScratch scratch;
    std::vector<TokenProb> top;
    float lp = token_logprobs(logits->data(), n, cat[0], 20, grammar->sampler(), scratch, top);
    EXPECT_NEAR(lp, expected[static_cast<std::size_t>(cat[0])], 1e-4);
    ASSERT_FALSE(top.empty());
    double sum = 0;
    for (const auto& t : top) {
      ASSERT_TRUE(std::isfinite(expected[static_cast<std::size_t>(t.token)]))
          << "token " << e.token_text(t.token) << " is not allowed";
      std::string text = e.token_text(t.token);
      EXPECT_TRUE(std::string("cat").starts_with(text) || std::string("dog").starts_with(text))
          << text;
      EXPECT_NEAR(t.logprob, expected[static_cast<std::size_t>(t.token)], 1e-4);
      sum += std::exp(t.logprob);
    }
    // Every allowed first token is listed ("c", "ca", "cat", "d", "do", "dog", those the
    // vocabulary has): together they are certain.
    EXPECT_NEAR(sum, 1.0, 1e-4);
  }
  // The grammar advances: after "c" only "a"/"at" are allowed.
  const auto c = e.tokenize("c", false, false);
  ASSERT_EQ(c.size(), 1u);
  grammar->accept(c[0]);
  auto expected = brute_force(flat, grammar->sampler());
  std::size_t allowed = 0;
  for (double x : expected) allowed += std::isfinite(x) ? 1 : 0;
  EXPECT_GE(allowed, 1u);
  EXPECT_LE(allowed, 2u);
}

// -- generations ----------------------------------------------------------------------------

TEST(Logprobs, GreedyTokensAreTheMostLikelyAndSorted) {
  Engine e(tiny_engine_config(1));
  auto o = wait_for(*e.generate(request(e, "The weather today", 12, sampling(1, 0.0f), 5)));
  expect_well_formed(o, 5);
  ASSERT_EQ(o.logprobs.size(), expected_entries(o));
  ASSERT_FALSE(o.logprobs.empty());
  std::string joined;
  for (const auto& lp : o.logprobs) {
    ASSERT_EQ(lp.top.size(), 5u);
    // Greedy picks the most likely token: it heads its own top list, with the same logprob.
    EXPECT_EQ(lp.top[0].text, lp.text);
    EXPECT_FLOAT_EQ(lp.top[0].logprob, lp.logprob);
    joined += lp.text;
  }
  EXPECT_EQ(sanitize_utf8(joined), o.text) << "the entries are the tokens of the text";
}

TEST(Logprobs, DoNotChangeWhatIsSampledAndAreOffUnlessAsked) {
  Engine e(tiny_engine_config(2));
  auto with = e.generate(request(e, "Once upon a time", 16, sampling(7, 1.0f), 2));
  auto without = e.generate(request(e, "Once upon a time", 16, sampling(7, 1.0f)));
  auto a = wait_for(*with);
  auto b = wait_for(*without);
  expect_well_formed(a, 2);
  EXPECT_EQ(a.text, b.text);
  EXPECT_EQ(a.logprobs.size(), expected_entries(a));
  EXPECT_TRUE(b.logprobs.empty()) << "nothing computed when not asked for";
  // Zero alternatives: the token's own logprob only.
  auto c = wait_for(*e.generate(request(e, "Once upon a time", 16, sampling(7, 1.0f), 0)));
  EXPECT_EQ(c.text, a.text);
  ASSERT_EQ(c.logprobs.size(), a.logprobs.size());
  for (std::size_t i = 0; i < c.logprobs.size(); ++i) {
    EXPECT_TRUE(c.logprobs[i].top.empty());
    // (a ran in one batch with b, c alone: the same up to the kernels' rounding)
    EXPECT_NEAR(c.logprobs[i].logprob, a.logprobs[i].logprob, 1e-4) << "token " << i;
  }
}

TEST(Logprobs, IndependentOfTemperature) {
  Engine e(tiny_engine_config(1));
  // The first token's distribution does not depend on how it is sampled.
  auto greedy = wait_for(*e.generate(request(e, "Same prompt", 1, sampling(3, 0.0f), 20)));
  auto hot = wait_for(*e.generate(request(e, "Same prompt", 1, sampling(3, 1.7f), 20)));
  ASSERT_EQ(greedy.logprobs.size(), 1u);
  ASSERT_EQ(hot.logprobs.size(), 1u);
  ASSERT_EQ(greedy.logprobs[0].top.size(), hot.logprobs[0].top.size());
  for (std::size_t k = 0; k < greedy.logprobs[0].top.size(); ++k) {
    EXPECT_EQ(greedy.logprobs[0].top[k].text, hot.logprobs[0].top[k].text);
    EXPECT_NEAR(greedy.logprobs[0].top[k].logprob, hot.logprobs[0].top[k].logprob, 1e-4);
  }
}

TEST(Logprobs, TwoLabelGrammarGivesProbabilitiesThatSumToOne) {
  Engine e(tiny_engine_config(1));
  auto s = sampling(5, 0.0f);
  s->grammar = common_grammar(COMMON_GRAMMAR_TYPE_USER, R"(root ::= "yes" | "no")");
  auto o = wait_for(*e.generate(request(e, "Is it raining? Answer:", 8, s, 20)));
  expect_well_formed(o, 20);
  ASSERT_TRUE(o.text == "yes" || o.text == "no") << o.text;
  ASSERT_FALSE(o.logprobs.empty());
  const auto& first = o.logprobs[0];
  double sum = 0;
  bool has_y = false, has_n = false;
  for (const auto& alt : first.top) {
    EXPECT_TRUE(std::string("yes").starts_with(alt.text) || std::string("no").starts_with(alt.text))
        << "only label tokens are allowed: " << alt.text;
    has_y = has_y || alt.text[0] == 'y';
    has_n = has_n || alt.text[0] == 'n';
    sum += std::exp(alt.logprob);
  }
  EXPECT_TRUE(has_y && has_n) << "both labels can start here";
  EXPECT_NEAR(sum, 1.0, 1e-4);
  EXPECT_EQ(first.top[0].text, first.text) << "greedy";
}

TEST(Logprobs, StopSequenceKeepsTheEntriesOfTheVisibleText) {
  Engine e(tiny_engine_config(1));
  auto free_run = wait_for(*e.generate(request(e, "Stop test", 30, sampling(3, 1.0f), 1)));
  ASSERT_GE(free_run.text.size(), 6u);
  std::size_t at = free_run.text.size() / 3;
  auto ascii = [&](std::size_t i) { return static_cast<unsigned char>(free_run.text[i]) < 0x80; };
  while (at + 3 < free_run.text.size() && !(ascii(at) && ascii(at + 1) && ascii(at + 2))) ++at;
  ASSERT_LT(at + 3, free_run.text.size());
  std::string stop = free_run.text.substr(at, 3);
  auto r = request(e, "Stop test", 30, sampling(3, 1.0f), 1);
  r.stop = {stop};
  auto stopped = wait_for(*e.generate(std::move(r)));
  ASSERT_EQ(stopped.end.finish_reason, "stop");
  // The entries are those of the tokens that wrote the visible text (the last one may reach
  // into the stop string), the same as in the free run.
  std::string joined;
  for (const auto& lp : stopped.logprobs) joined += lp.text;
  EXPECT_TRUE(sanitize_utf8(joined).starts_with(stopped.text));
  ASSERT_LE(stopped.logprobs.size(), free_run.logprobs.size());
  for (std::size_t i = 0; i < stopped.logprobs.size(); ++i) {
    EXPECT_EQ(stopped.logprobs[i].text, free_run.logprobs[i].text);
    EXPECT_NEAR(stopped.logprobs[i].logprob, free_run.logprobs[i].logprob, 1e-4);
  }
  EXPECT_LT(stopped.logprobs.size(), free_run.logprobs.size())
      << "no entries for the tokens after the stop string";
}

// Not a test: what logprobs cost per generated token, in CPU time of the calling thread (so that
// other work on the machine does not skew it), beside what a decode step of the tiny model and
// the sampler chain cost; and tokens/s of the tiny model with and without logprobs, the runs
// interleaved. Run with --gtest_also_run_disabled_tests --gtest_filter='*Cost*'.
double thread_cpu_us() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

TEST(Logprobs, DISABLED_Cost) {
  Engine e(tiny_engine_config(1, 1024));
  const int n = e.n_vocab();
  LogprobScratch scratch;
  std::vector<TokenProb> top;
  auto per_call = [&](const std::vector<float>& logits, int k, llama_sampler* grammar) {
    const int reps = 50;
    double started = thread_cpu_us();
    for (int i = 0; i < reps; ++i) {
      token_logprobs(logits.data(), n, 0, k, grammar, scratch, top);
    }
    return (thread_cpu_us() - started) / reps;
  };
  auto flat = random_logits(n, 1, 1.0f);
  auto peaked = random_logits(n, 1, 3.0f);
  for (std::size_t i = 0; i < 20; ++i) peaked[i * 7] = 40.0f - static_cast<float>(i);
  auto grammar = user_grammar(e, R"(root ::= [a-z ]+)");
  std::printf("token_logprobs, %d-token vocabulary, CPU us per token:\n", n);
  std::printf("  no grammar, top 0: %8.0f\n", per_call(flat, 0, nullptr));
  std::printf("  no grammar, top 5: %8.0f\n", per_call(flat, 5, nullptr));
  std::printf("  no grammar, top 20:%8.0f\n", per_call(flat, 20, nullptr));
  std::printf("  grammar, flat logits (whole vocabulary checked): %8.0f\n",
              per_call(flat, 5, grammar->sampler()));
  std::printf("  grammar, peaked logits (stops early):            %8.0f\n",
              per_call(peaked, 5, grammar->sampler()));

  auto run = [&](int top_n) {
    auto started = std::chrono::steady_clock::now();
    int tokens = 0;
    for (int i = 0; i < 2; ++i) {
      auto o = wait_for(
          *e.generate(request(e, "Throughput " + std::to_string(i), 64, sampling(1, 0.0f), top_n)));
      tokens += o.end.completion_tokens;
    }
    return tokens /
           std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  double best_off = 0, best_on = 0, best_top = 0;
  for (int round = 0; round < 3; ++round) {
    best_off = std::max(best_off, run(-1));
    best_on = std::max(best_on, run(0));
    best_top = std::max(best_top, run(5));
  }
  std::printf(
      "tiny model, tokens/s (best of 3, interleaved): off %.0f, logprobs %.0f, "
      "top_logprobs 5 %.0f\n",
      best_off, best_on, best_top);
}

}  // namespace
}  // namespace tandem::llm
