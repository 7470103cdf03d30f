#pragma once
// One generation in flight: the channel between the model's scheduler thread (the producer) and
// the request that waits for it on a network thread (the consumer). Text arrives in pieces; the
// end carries the finish reason, usage and compute time. Either side may end it early: the
// consumer by cancel() (client gone), the scheduler by fail() (decode error, shutdown).
// When the request asked for logprobs, each token's logprob comes with the text it produced:
// a token's entry arrives with the piece of text that completes it.
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/llm/logprobs.h"

namespace tandem::llm {

struct GenerationEnd {
  std::string finish_reason;  // "stop" or "length"; empty on failure
  std::string error;          // set when the generation failed
  int prompt_tokens = 0;
  int cached_tokens = 0;  // prompt tokens reused from the KV cache
  int completion_tokens = 0;
  int reasoning_tokens = 0;    // of the completion tokens, those of a reasoning model's thought
  double compute_seconds = 0;  // this generation's share of decode time
};

class Generation {
 public:
  // Consumer side (any thread).
  void cancel() { cancelled_.store(true, std::memory_order_relaxed); }
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }
  // Called on the scheduler thread after new text or the end arrived; must only schedule work
  // (post to an io_context), never block.
  void set_waker(std::function<void()> waker);

  struct Taken {
    std::string text;
    std::vector<TokenLogprob> logprobs;  // the tokens that produced `text` (when asked for)
    bool ended = false;
    GenerationEnd end;

    bool empty() const { return text.empty() && logprobs.empty() && !ended; }
  };
  // Takes the text (and logprobs) that arrived since the last call, and the end once it came.
  Taken take();

  // Producer side (the scheduler thread).
  void push(std::string_view text, std::vector<TokenLogprob>* logprobs = nullptr);
  void finish(GenerationEnd end);

 private:
  void wake(std::unique_lock<std::mutex>& lock);

  std::atomic<bool> cancelled_{false};
  std::mutex mutex_;
  std::string pending_;
  std::vector<TokenLogprob> pending_logprobs_;
  bool ended_ = false;
  GenerationEnd end_;
  std::function<void()> waker_;
};

}  // namespace tandem::llm
