#include "tandem/providers/local_embedder.h"

#include <condition_variable>
#include <memory>
#include <mutex>

namespace tandem::providers {

LocalEmbedder::LocalEmbedder(llm::Engine& engine, std::string name,
                             std::chrono::milliseconds timeout)
    : engine_(engine), name_(std::move(name)), timeout_(timeout) {}

std::vector<float> LocalEmbedder::embed(std::string_view text) const {
  std::vector<std::int32_t> tokens = engine_.tokenize(text, true, false);
  // A text longer than the model's context is embedded by its beginning.
  std::size_t limit = static_cast<std::size_t>(std::max(1, engine_.config().context));
  if (tokens.size() > limit) tokens.resize(limit);
  if (tokens.empty()) {
    throw prompts::PromptError("embedder '" + name_ + "': the text has no tokens");
  }
  struct Signal {
    std::mutex mutex;
    std::condition_variable cv;
    bool woken = false;
  };
  auto signal = std::make_shared<Signal>();
  auto job = engine_.embed({std::move(tokens)});
  job->set_waker([signal] {
    std::lock_guard lock(signal->mutex);
    signal->woken = true;
    signal->cv.notify_all();
  });
  {
    std::unique_lock lock(signal->mutex);
    signal->cv.wait_for(lock, timeout_, [&] { return signal->woken || job->done(); });
  }
  if (!job->done()) {
    job->set_waker({});
    throw prompts::EmbedderError("embedder '" + name_ + "' did not answer within " +
                                 std::to_string(timeout_.count()) + " ms");
  }
  if (!job->error.empty()) {
    throw prompts::EmbedderError("embedder '" + name_ + "': " + job->error);
  }
  if (job->vectors.empty()) throw prompts::EmbedderError("embedder '" + name_ + "': no vector");
  return std::move(job->vectors.front());
}

}  // namespace tandem::providers
