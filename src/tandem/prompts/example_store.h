#pragma once
// Few-shot examples of an LLM variant, and their retrieval by similarity to the request.
//
// Examples come from the config (inline {input_json, output_json}) or a JSONL file of
// {"input": {...}, "output": ...} lines. When a variant retrieves examples, each example's input
// is embedded once at load by a SentenceEmbedder; a request's input is embedded per request and
// the k nearest examples by cosine similarity are chosen. Stores up to kExactSearchLimit examples
// are searched exactly; larger ones through an HNSW index (hnswlib), whose recall is near 1 at
// the search width used here and whose cost grows with log(size) instead of size.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/config/config.h"
#include "tandem/core/usage.h"
#include "tandem/prompts/prompt_error.h"

namespace tandem::datasets {
class WordVectors;
}

namespace tandem::prompts {

struct Example {
  boost::json::object input;
  boost::json::value output;
};

// Inline examples of a variant; errors name them as "<what>: example 3: ...".
// Throws PromptError for JSON that does not parse or an input that is not an object.
std::vector<Example> examples_from_config(std::span<const config::ExampleConfig> examples,
                                          const std::string& what);

// A JSONL file of {"input": {...}, "output": ...} lines (blank lines are skipped).
// Throws PromptError "file:line: what is wrong" (invalid JSON or UTF-8, a missing or extra key).
std::vector<Example> load_examples_jsonl(const std::filesystem::path& file);

// What embedding cost where an embedder is charged for it (an embeddings API): the tokens the
// provider reported, priced at the route that answered. Free embedders leave it empty.
struct EmbeddingSpend {
  core::Usage usage;  // known once some call reported its usage
  std::int64_t cost_pico_usd = 0;
  int calls = 0;      // requests made to the provider
  std::string route;  // the route that answered the last of them ("provider:model")

  void add(const EmbeddingSpend& other) {
    if (other.usage.known) {
      usage.known = true;
      usage.prompt_tokens += other.usage.prompt_tokens;
      usage.total_tokens += other.usage.total_tokens;
    }
    cost_pico_usd += other.cost_pico_usd;
    calls += other.calls;
    if (!other.route.empty()) route = other.route;
  }
};

// Text -> a fixed-size vector. Implementations must be thread-safe and return the same
// dimension for every text; the store L2-normalises what they return. Both calls may block
// (a model, a network call): never call them on a network thread.
class SentenceEmbedder {
 public:
  virtual ~SentenceEmbedder() = default;
  virtual std::vector<float> embed(std::string_view text) const = 0;
  // Several texts, their vectors in the same order; what the calls cost is added to `spend`
  // when it is given. This default embeds one text at a time and charges nothing; an embedder
  // behind an API overrides it to send many texts per request.
  virtual std::vector<std::vector<float>> embed_batch(std::span<const std::string> texts,
                                                      EmbeddingSpend* spend) const;
};

// The mean of the GloVe vectors of a text's words (lowercased runs of letters and digits;
// unknown words are skipped), L2-normalised; all zeros when no word is known.
class GloveEmbedder : public SentenceEmbedder {
 public:
  explicit GloveEmbedder(std::shared_ptr<const datasets::WordVectors> vectors);
  // The vectors scripts/setup_data.sh prepares (datasets::data_dir()/glove_100d.bin), loaded
  // once per process and shared by every caller. Throws PromptError when they are missing.
  static std::shared_ptr<const GloveEmbedder> load_default();

  std::vector<float> embed(std::string_view text) const override;

 private:
  std::shared_ptr<const datasets::WordVectors> vectors_;
};

class ExampleStore {
 public:
  static constexpr std::size_t kExactSearchLimit = 4096;

  struct Match {
    std::size_t index;  // into examples()
    float similarity;   // cosine, in [-1, 1]
  };

  // `input_fields` (empty: ["text"]) are the fields whose text is embedded, in this order.
  // `embedder` may be null for a store that is never searched (select() then throws).
  // Embeds every example now, in batches (embed_batch); throws PromptError when the embedder
  // fails or its dimensions vary.
  ExampleStore(std::vector<Example> examples, std::vector<std::string> input_fields,
               std::shared_ptr<const SentenceEmbedder> embedder);
  ~ExampleStore();
  ExampleStore(ExampleStore&&) noexcept;
  ExampleStore& operator=(ExampleStore&&) noexcept;

  std::size_t size() const { return examples_.size(); }
  const std::vector<Example>& examples() const { return examples_; }
  bool uses_index() const { return index_ != nullptr; }
  // What embedding the examples at construction cost (empty for a free embedder).
  const EmbeddingSpend& load_spend() const { return load_spend_; }

  // The min(k, size()) examples most similar to `input`, ordered least similar first and most
  // similar last (the last sits next to the question in a prompt). Ties keep file order.
  // What embedding the input cost is added to `spend` when it is given.
  std::vector<Match> select(const boost::json::object& input, std::size_t k,
                            EmbeddingSpend* spend = nullptr) const;

  // The text embedded for an input: its input fields' values, one per line (strings as they
  // are, other values as JSON), absent fields skipped.
  std::string text_of(const boost::json::object& input) const;

 private:
  // The embedder's vectors for `texts`, each checked and L2-normalised.
  std::vector<std::vector<float>> unit_embeddings(std::span<const std::string> texts,
                                                  EmbeddingSpend* spend) const;

  struct Index;
  std::vector<Example> examples_;
  std::vector<std::string> fields_;
  std::shared_ptr<const SentenceEmbedder> embedder_;
  EmbeddingSpend load_spend_;
  std::size_t dim_ = 0;
  std::vector<float> vectors_;    // size() x dim_, unit length (exact search)
  std::unique_ptr<Index> index_;  // above kExactSearchLimit
};

}  // namespace tandem::prompts
