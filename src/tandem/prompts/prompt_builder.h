#pragma once
// An LLM variant's request for one task input, and the check of its reply.
//
// Built once per variant at start (templates compiled and checked, schema checked, examples
// parsed, validated, embedded and their user turns rendered), then used per request from any
// thread:
//
//   PromptBuilder builder(task, variant);                 // throws PromptError at start
//   PromptRequest req = builder.build(input, counter);    // throws PromptError (a 400)
//   ... send req.messages (+ req.response_format) to the variant's model ...
//   AnswerCheck a = builder.parse_answer(reply_text);
//   if (!a.output) {                                      // once: retry with the error
//     auto again = retry_messages(req.messages, reply_text, a);
//     ... send again ...; a = builder.parse_answer(second_reply);
//     if (!a.output) -> fail with a.error
//   }
//
// Messages: the system template's text (when the variant has one); then each few-shot example
// as a user turn (the example's input through the user template) and an assistant turn (its
// output: {"label": ...} for a label task, the JSON for a json task, the text for a text task) --
// unless a template reads `examples`, in which case they are only in that template's text; then
// the user template rendered with the request's input.
//
// Few-shot examples: with `retrieve_examples` = k > 0, the k nearest the input (least similar
// first, most similar next to the question); else all of them in config order. With
// `max_prompt_tokens` set, examples are dropped from the front (the least similar, or the
// earliest) until the prompt fits; if it does not fit with none, build() throws.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/config/config.h"
#include "tandem/prompts/example_store.h"
#include "tandem/prompts/json_schema.h"
#include "tandem/prompts/prompt_error.h"
#include "tandem/prompts/prompt_template.h"

namespace tandem::prompts {

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
};

// [{"role": ..., "content": ...}, ...]: OpenAI's "messages".
boost::json::array messages_json(std::span<const ChatMessage> messages);

struct PromptRequest {
  std::vector<ChatMessage> messages;
  // OpenAI's response_format ({"type": "json_schema", "json_schema": {"name", "schema", ...}});
  // null for a text task. The local provider turns the same field into a grammar.
  boost::json::value response_format;
  std::vector<std::size_t> examples;         // the examples used, in prompt order (store indices)
  std::size_t examples_dropped = 0;          // left out to fit max_prompt_tokens
  std::optional<std::size_t> prompt_tokens;  // as counted for the budget, when there is one
  EmbeddingSpend embedding;  // what embedding the input for retrieval cost (an embeddings API)
};

// Tokens of a whole prompt. The caller knows the model: its tokenizer and chat template for a
// local one, an estimate for a remote one. Must be thread-safe.
using TokenCounter = std::function<std::size_t(std::span<const ChatMessage>)>;

// The estimate used when no counter is given: a quarter of the characters of every message,
// plus 4 tokens per message for the chat template's markup. Rounded up.
std::size_t estimate_tokens(std::span<const ChatMessage> messages);

struct BuilderOptions {
  // Embeds inputs for `retrieve_examples`. Null: GloveEmbedder::load_default() when the
  // variant's embedder is "glove"; any other embedder must be given here.
  std::shared_ptr<const SentenceEmbedder> embedder;
  // More examples after the variant's inline ones, e.g. from load_examples_jsonl.
  std::vector<Example> extra_examples;
};

// A reply checked against the contract.
struct AnswerCheck {
  std::optional<boost::json::object> output;  // {"label": L} | the JSON object | {"text": T}
  std::string error;                          // why it is invalid, when output is empty
  std::string retry_prompt;  // the user turn that asks for a valid answer, when output is empty
};

// `contract`: "labels", "json" or "text". `schema` is needed for "json" (null: any object).
// Labels: {"label": L}, a JSON string L, or the bare text L (trimmed), for L in `labels`.
// JSON: an object (code fences and text around the outermost {...} are tolerated) matching the
// schema. Text: the reply as it is, with invalid UTF-8 replaced by U+FFFD.
AnswerCheck parse_answer(std::string_view contract, std::span<const std::string> labels,
                         const JsonSchema* schema, std::string_view reply_text);

// The messages of the one retry: the request's messages, the invalid reply as the assistant's
// turn, and `failed.retry_prompt` as the user's.
std::vector<ChatMessage> retry_messages(std::span<const ChatMessage> messages,
                                        std::string_view reply_text, const AnswerCheck& failed);

class PromptBuilder {
 public:
  // Throws PromptError naming the task and variant: a template that does not compile or reads
  // an unknown variable, a schema outside the supported subset, an example that does not parse,
  // lacks a field the template needs, or whose output breaks the contract, a missing embedder.
  PromptBuilder(const config::TaskConfig& task, const config::VariantConfig& variant,
                BuilderOptions options = {});
  ~PromptBuilder();
  PromptBuilder(PromptBuilder&&) noexcept;
  PromptBuilder& operator=(PromptBuilder&&) noexcept;

  // Thread-safe. Throws PromptError when the input lacks a field the templates read, a
  // template raises an error, or the prompt exceeds max_prompt_tokens with no examples.
  // `count` is used for the budget; without one, estimate_tokens.
  PromptRequest build(const boost::json::object& input, const TokenCounter& count = {}) const;

  AnswerCheck parse_answer(std::string_view reply_text) const;

  const std::string& contract() const;
  // For a labels task, what local models are asked for instead of response_format: the label
  // alone as a JSON string ("positive"). The label object ({"label": "positive"}) costs a local
  // model several more grammar-constrained decode steps for the same answer; remote
  // structured-output APIs need an object at the top, so they keep it. parse_answer takes both.
  // Null for other tasks.
  const boost::json::value& local_response_format() const;
  const std::string& what() const;                  // "task T, variant V"
  const std::optional<JsonSchema>& schema() const;  // labels: label_schema; json: the task's
  std::size_t example_count() const;
  // What embedding the examples for retrieval cost when the builder was made (empty for GloVe
  // and other free embedders).
  const EmbeddingSpend& examples_embedding() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace tandem::prompts
