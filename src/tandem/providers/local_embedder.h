#pragma once
// A local embeddings model (a provider of kind "local", `embeddings = true`) as the sentence
// embedder of few-shot example retrieval, in place of the GloVe default. embed() waits for the
// model's scheduler thread: call it from a worker or at load, never from a network thread.
#include <chrono>
#include <string>

#include "tandem/llm/engine.h"
#include "tandem/prompts/example_store.h"

namespace tandem::providers {

class LocalEmbedder final : public prompts::SentenceEmbedder {
 public:
  LocalEmbedder(llm::Engine& engine, std::string name,
                std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Throws prompts::EmbedderError when the model fails or takes longer than the timeout, and
  // prompts::PromptError for a text without tokens.
  std::vector<float> embed(std::string_view text) const override;

 private:
  llm::Engine& engine_;
  std::string name_;
  std::chrono::milliseconds timeout_;
};

}  // namespace tandem::providers
