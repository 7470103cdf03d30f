#include "tandem/llm/generation.h"

namespace tandem::llm {

void Generation::set_waker(std::function<void()> waker) {
  std::unique_lock lock(mutex_);
  waker_ = std::move(waker);
  if (!pending_.empty() || !pending_logprobs_.empty() || ended_) wake(lock);
}

Generation::Taken Generation::take() {
  std::lock_guard lock(mutex_);
  Taken t;
  t.text.swap(pending_);
  t.logprobs.swap(pending_logprobs_);
  t.ended = ended_;
  if (ended_) t.end = end_;
  return t;
}

void Generation::push(std::string_view text, std::vector<TokenLogprob>* logprobs) {
  std::unique_lock lock(mutex_);
  pending_ += text;
  if (logprobs != nullptr) {
    if (pending_logprobs_.empty()) {
      pending_logprobs_.swap(*logprobs);
    } else {
      for (auto& lp : *logprobs) pending_logprobs_.push_back(std::move(lp));
    }
    logprobs->clear();
  }
  wake(lock);
}

void Generation::finish(GenerationEnd end) {
  std::unique_lock lock(mutex_);
  if (ended_) return;
  ended_ = true;
  end_ = std::move(end);
  wake(lock);
}

void Generation::wake(std::unique_lock<std::mutex>& lock) {
  auto waker = waker_;
  lock.unlock();
  if (waker) waker();
}

}  // namespace tandem::llm
