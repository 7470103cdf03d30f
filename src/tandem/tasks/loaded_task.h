#pragma once
// Everything a task needs at request time, loaded once (at start, and again on reload) into one
// immutable snapshot: the tailored variants' models, the LLM variants' compiled prompts, the
// learned router, and the policy with its fitted thresholds -- including the distilled model as
// the cascade's cheap first stage once `tandem distill` has written one that reached its target.
// A request holds its snapshot (a shared_ptr) until it ends, so a reload never changes a request
// halfway.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/config/config.h"
#include "tandem/prompts/prompt_builder.h"
#include "tandem/routing/learned_router.h"
#include "tandem/routing/policy.h"
#include "tandem/tasks/cascade_state.h"
#include "tandem/tasks/tailored_task.h"

namespace tandem::tasks {

using config::kDistilledVariant;

struct LoadedVariant {
  std::string name;
  std::string kind;                                      // "tailored" or "llm"
  const config::VariantConfig* config = nullptr;         // null for the distilled model
  std::shared_ptr<const TailoredTask> model;             // tailored
  std::shared_ptr<const prompts::PromptBuilder> prompt;  // llm
};

struct TaskLoadOptions {
  // Each chat model's first route's upstream model name ([models.<name>] -> "gpt-4-1106-preview"):
  // a learned router trained on recorded answers knows its candidates by those names.
  std::map<std::string, std::string, std::less<>> first_route_models;
  // Embeddings models that may embed few-shot retrieval ([models.<name>] -> embedder).
  std::map<std::string, std::shared_ptr<const prompts::SentenceEmbedder>, std::less<>> embedders;
};

class LoadedTask {
 public:
  const config::TaskConfig& config() const { return *config_; }
  const LoadedVariant* find(std::string_view variant) const;
  const std::vector<LoadedVariant>& variants() const { return variants_; }
  const routing::EffectivePolicy& policy() const { return policy_; }
  // The learned router (policy.router; null without one), and which of its models a variant is:
  // every candidate of a router policy, and every cascade stage whose confidence is the
  // router's P(correct).
  const routing::RouterModel* router() const { return router_.get(); }
  std::optional<std::size_t> router_column(std::string_view variant) const;
  const std::optional<DistillState>& distilled() const { return distilled_; }
  // The first tailored model: what the short form's responses describe.
  const TailoredTask* primary_model() const;
  bool hybrid() const { return hybrid_; }

  // Throws std::runtime_error naming the task, variant and file.
  static std::shared_ptr<const LoadedTask> load(const config::TaskConfig& config,
                                                const TaskLoadOptions& options);

 private:
  const config::TaskConfig* config_ = nullptr;
  std::vector<LoadedVariant> variants_;
  routing::EffectivePolicy policy_;
  std::shared_ptr<const routing::RouterModel> router_;
  std::map<std::string, std::size_t, std::less<>> router_columns_;
  std::optional<DistillState> distilled_;
  bool hybrid_ = false;
};

}  // namespace tandem::tasks
