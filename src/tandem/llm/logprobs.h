#pragma once
// Token log-probabilities for OpenAI's `logprobs` / `top_logprobs`, computed on the scheduler
// thread from the model's raw logits for the position a token was sampled at.
//
// Which distribution: log softmax of the raw logits (before temperature, top-k, top-p, min-p,
// penalties and logit biases), over the tokens the request's grammar allows at that position
// when a grammar is active (response_format, tools), else over the whole vocabulary. So the
// figures do not depend on the sampling settings: greedy decoding reports the model's own
// probabilities, and an answer constrained to a label set gets each label token's probability
// among the tokens the grammar lets through (the allowed ones sum to 1).
//
// Cost, paid only by requests that ask for logprobs: one pass over the logits for their
// normaliser and the top alternatives; with a grammar, the grammar is also checked against the
// candidates in descending order of logit, in growing chunks, until the tokens not yet checked
// together hold too little probability mass to move the normaliser by more than 1e-6 relative
// (so the figures are exact to float precision; a peaked distribution stops after the first
// chunk, a flat one checks the whole vocabulary, as llama.cpp's own resampling path does).
// With a grammar, `top_logprobs` lists allowed tokens only, so there may be fewer than asked for;
// tokens left unchecked (together under 1e-6 of the probability) are not among them.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct llama_vocab;
struct llama_sampler;
struct llama_token_data;
struct common_params_sampling;

namespace tandem::llm {

struct TokenProb {
  std::int32_t token = 0;
  float logprob = 0;
};

// One generated token: its bytes (a token may hold part of a UTF-8 character), its logprob, and
// the most likely tokens at its position (sorted, most likely first).
struct TokenLogprob {
  std::string text;
  float logprob = 0;
  struct Alternative {
    std::string text;
    float logprob = 0;
  };
  std::vector<Alternative> top;
};

// The grammar of a request, advanced token by token beside the sampler's own copy (llama.cpp's
// common_sampler does not expose its grammar sampler), built the way common_sampler_init builds
// it: lazy triggers, and the generation prompt prefilled for output-format and tool grammars.
class GrammarTracker {
 public:
  // nullptr when the sampling parameters have no grammar. Throws std::runtime_error for a
  // grammar llama.cpp cannot parse (common_sampler_init has already rejected those).
  static std::unique_ptr<GrammarTracker> make(const llama_vocab* vocab,
                                              const common_params_sampling& params);
  ~GrammarTracker();
  GrammarTracker(const GrammarTracker&) = delete;
  GrammarTracker& operator=(const GrammarTracker&) = delete;

  llama_sampler* sampler() const { return sampler_; }
  void accept(std::int32_t token);

 private:
  explicit GrammarTracker(llama_sampler* sampler) : sampler_(sampler) {}
  llama_sampler* sampler_;
};

// Reused buffers (one per scheduler), so that a step allocates nothing.
struct LogprobScratch {
  std::vector<llama_token_data> candidates;
  std::vector<TokenProb> top;
};

// The logprob of `chosen` and the `top_n` (0..20) most likely tokens at a position with these
// logits, over the tokens `grammar` allows (nullptr: the whole vocabulary). `grammar` is applied,
// never advanced. Returns the chosen token's logprob; `top` is sorted, most likely first.
float token_logprobs(const float* logits, int n_vocab, std::int32_t chosen, int top_n,
                     llama_sampler* grammar, LogprobScratch& scratch, std::vector<TokenProb>& top);

}  // namespace tandem::llm
