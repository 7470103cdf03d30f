#pragma once
// Provider kind "replay": answers chat requests from recorded LLM answers (RouterBench,
// RouteLLM), for offline evaluation of tasks, cascades and routers through the same code that
// serves live traffic. The request's last user message is the prompt looked up; the route's
// `model` is the recorded model. The answer is an OpenAI chat.completion whose content is the
// recorded response, with the recorded score and cost under "tandem_replay":
//   {"tandem_replay": {"score": 1, "cost_usd": 0.00012}}
// A prompt that was never recorded is the client's error (400); a recorded query the model has
// no answer for is the provider's (503), so a fallback chain moves on.
#include <memory>
#include <string>

#include "tandem/config/config.h"
#include "tandem/http/client.h"
#include "tandem/providers/replay_store.h"

namespace tandem::providers {

class ReplayProvider {
 public:
  // Loads the recorded set; throws datasets::DatasetError naming the file.
  explicit ReplayProvider(const config::ProviderConfig& config);

  const ReplayStore& store() const { return *store_; }

  // "/chat/completions" only (embeddings were not recorded): a complete JSON answer.
  std::unique_ptr<http::UpstreamResponse> answer(std::string_view path, std::string_view body,
                                                 const config::RouteConfig& route) const;

 private:
  std::shared_ptr<const ReplayStore> store_;
};

}  // namespace tandem::providers
