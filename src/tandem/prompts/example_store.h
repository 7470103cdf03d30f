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

// Text -> a fixed-size vector. Implementations must be thread-safe and return the same
// dimension for every text; the store L2-normalises what they return.
class SentenceEmbedder {
 public:
  virtual ~SentenceEmbedder() = default;
  virtual std::vector<float> embed(std::string_view text) const = 0;
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
  // Embeds every example now; throws PromptError when the embedder fails or its dimensions vary.
  ExampleStore(std::vector<Example> examples, std::vector<std::string> input_fields,
               std::shared_ptr<const SentenceEmbedder> embedder);
  ~ExampleStore();
  ExampleStore(ExampleStore&&) noexcept;
  ExampleStore& operator=(ExampleStore&&) noexcept;

  std::size_t size() const { return examples_.size(); }
  const std::vector<Example>& examples() const { return examples_; }
  bool uses_index() const { return index_ != nullptr; }

  // The min(k, size()) examples most similar to `input`, ordered least similar first and most
  // similar last (the last sits next to the question in a prompt). Ties keep file order.
  std::vector<Match> select(const boost::json::object& input, std::size_t k) const;

  // The text embedded for an input: its input fields' values, one per line (strings as they
  // are, other values as JSON), absent fields skipped.
  std::string text_of(const boost::json::object& input) const;

 private:
  std::vector<float> unit_embedding(std::string_view text) const;

  struct Index;
  std::vector<Example> examples_;
  std::vector<std::string> fields_;
  std::shared_ptr<const SentenceEmbedder> embedder_;
  std::size_t dim_ = 0;
  std::vector<float> vectors_;    // size() x dim_, unit length (exact search)
  std::unique_ptr<Index> index_;  // above kExactSearchLimit
};

}  // namespace tandem::prompts
