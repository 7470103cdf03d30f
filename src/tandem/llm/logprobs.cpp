#include "tandem/llm/logprobs.h"

#include <chat.h>
#include <llama.h>
#include <sampling.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace tandem::llm {

namespace {

// Tokens are checked against a grammar in chunks of this many, growing fourfold, until the
// unchecked ones hold at most kTailTolerance of the allowed mass found.
constexpr std::size_t kFirstChunk = 512;
constexpr double kTailTolerance = 1e-6;

// Keeps the `n` highest logits seen, sorted (ties: the lower token id first, so the order is
// deterministic).
class TopN {
 public:
  TopN(std::vector<TokenProb>& items, int n) : items_(items), n_(static_cast<std::size_t>(n)) {
    items_.clear();
  }
  // The logit a token must beat to enter.
  float bar() const {
    return items_.size() < n_ ? -std::numeric_limits<float>::infinity() : items_.back().logprob;
  }
  void offer(std::int32_t token, float logit) {
    if (n_ == 0 || !(logit > bar() || items_.size() < n_)) return;
    TokenProb p{token, logit};
    auto at = std::upper_bound(items_.begin(), items_.end(), p, [](const auto& a, const auto& b) {
      return a.logprob > b.logprob || (a.logprob == b.logprob && a.token < b.token);
    });
    if (items_.size() == n_) items_.pop_back();
    items_.insert(at, p);
  }

 private:
  std::vector<TokenProb>& items_;
  std::size_t n_;
};

// Sum of exp(x[i] - shift) (glibc's expf: a hand-written polynomial that the compiler can
// vectorise measured no faster on SSE2 without -ffast-math).
double sum_exp(const float* x, std::size_t n, float shift) {
  double total = 0;
  for (std::size_t i = 0; i < n; ++i) total += std::exp(x[i] - shift);
  return total;
}

}  // namespace

std::unique_ptr<GrammarTracker> GrammarTracker::make(const llama_vocab* vocab,
                                                     const common_params_sampling& params) {
  // What common_sampler_init (common/sampling.cpp) does for a GBNF grammar.
  const std::string& grammar = common_grammar_value(params.grammar);
  if (grammar.empty()) return nullptr;
  llama_sampler* sampler = nullptr;
  if (params.grammar_lazy) {
    std::vector<std::string> patterns;
    std::vector<llama_token> tokens;
    for (const auto& trigger : params.grammar_triggers) {
      switch (trigger.type) {
        case COMMON_GRAMMAR_TRIGGER_TYPE_WORD:
          patterns.push_back(regex_escape(trigger.value));
          break;
        case COMMON_GRAMMAR_TRIGGER_TYPE_PATTERN:
          patterns.push_back(trigger.value);
          break;
        case COMMON_GRAMMAR_TRIGGER_TYPE_PATTERN_FULL: {
          const std::string& p = trigger.value;
          std::string anchored = "^$";
          if (!p.empty()) {
            anchored = (p.front() != '^' ? "^" : "") + p + (p.back() != '$' ? "$" : "");
          }
          patterns.push_back(std::move(anchored));
          break;
        }
        case COMMON_GRAMMAR_TRIGGER_TYPE_TOKEN:
          tokens.push_back(trigger.token);
          break;
      }
    }
    std::vector<const char*> patterns_c;
    for (const auto& p : patterns) patterns_c.push_back(p.c_str());
    sampler =
        llama_sampler_init_grammar_lazy_patterns(vocab, grammar.c_str(), "root", patterns_c.data(),
                                                 patterns_c.size(), tokens.data(), tokens.size());
  } else {
    sampler = llama_sampler_init_grammar(vocab, grammar.c_str(), "root");
  }
  if (sampler == nullptr) throw std::runtime_error("failed to parse grammar");
  std::unique_ptr<GrammarTracker> tracker(new GrammarTracker(sampler));
  if (!params.grammar_lazy && common_grammar_needs_prefill(params.grammar) &&
      !params.generation_prompt.empty()) {
    // The part of the answer the template already put in the prompt.
    auto tokens = common_tokenize(vocab, params.generation_prompt, false, true);
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      std::string piece = common_token_to_piece(vocab, tokens[i], true);
      if (i == 0 && !piece.empty() && std::isspace(static_cast<unsigned char>(piece[0])) &&
          !std::isspace(static_cast<unsigned char>(params.generation_prompt[0]))) {
        continue;
      }
      llama_sampler_accept(sampler, tokens[i]);
    }
  }
  return tracker;
}

GrammarTracker::~GrammarTracker() {
  llama_sampler_free(sampler_);
}

void GrammarTracker::accept(std::int32_t token) {
  llama_sampler_accept(sampler_, token);
}

float token_logprobs(const float* logits, int n_vocab, std::int32_t chosen, int top_n,
                     llama_sampler* grammar, LogprobScratch& scratch, std::vector<TokenProb>& top) {
  top.clear();
  if (n_vocab <= 0) return 0;
  const auto n = static_cast<std::size_t>(n_vocab);
  TopN best(scratch.top, top_n);
  float max_logit = -std::numeric_limits<float>::infinity();
  for (std::size_t i = 0; i < n; ++i) max_logit = logits[i] > max_logit ? logits[i] : max_logit;
  // Sum of exp(logit - max) over the tokens the normaliser covers.
  double mass = 0;
  if (grammar == nullptr) {
    mass = sum_exp(logits, n, max_logit);
    if (top_n > 0) {
      float bar = best.bar();
      for (std::size_t i = 0; i < n; ++i) {
        if (logits[i] > bar) {
          best.offer(static_cast<std::int32_t>(i), logits[i]);
          bar = best.bar();
        }
      }
    }
  } else {
    const double total = sum_exp(logits, n, max_logit);
    auto& candidates = scratch.candidates;
    candidates.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      candidates[i] = llama_token_data{static_cast<llama_token>(i), logits[i], 0.0f};
    }
    auto higher = [](const llama_token_data& a, const llama_token_data& b) {
      return a.logit > b.logit;
    };
    double checked = 0;
    std::size_t begin = 0;
    for (std::size_t chunk = kFirstChunk; begin < n; chunk *= 4) {
      std::size_t end = std::min(n, begin + chunk);
      if (end < n) {
        // The `chunk` highest logits of the rest, ahead of the others.
        std::nth_element(candidates.begin() + static_cast<std::ptrdiff_t>(begin),
                         candidates.begin() + static_cast<std::ptrdiff_t>(end), candidates.end(),
                         higher);
      }
      llama_token_data_array part{candidates.data() + begin, end - begin, -1, false};
      llama_sampler_apply(grammar, &part);  // sets the logit of a token it rejects to -inf
      for (std::size_t i = begin; i < end; ++i) {
        const llama_token id = candidates[i].id;
        const double w = std::exp(logits[id] - max_logit);
        checked += w;
        if (candidates[i].logit != -std::numeric_limits<float>::infinity()) {
          mass += w;
          best.offer(id, logits[id]);
        }
      }
      begin = end;
      if (mass > 0 && total - checked <= kTailTolerance * mass) break;
    }
    if (!(mass > 0)) mass = total;  // a grammar that allows nothing: not a distribution
  }
  const float log_z = max_logit + static_cast<float>(std::log(mass));
  // Rounding must not make a certain token more than certain.
  for (const auto& p : scratch.top) top.push_back({p.token, std::min(p.logprob - log_z, 0.0f)});
  return std::min(logits[chosen] - log_z, 0.0f);
}

}  // namespace tandem::llm
