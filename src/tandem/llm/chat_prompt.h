#pragma once
// OpenAI chat input -> the model's own prompt, through its chat template (llama.cpp's Jinja
// engine); and the model's raw reply -> reasoning, content and tool calls, through the parser that
// the same template implies. response_format's JSON schema and the tools' schemas become a grammar
// that constrains decoding, so structured output always parses.
#include <cstddef>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "tandem/llm/thought_counter.h"

struct common_params_sampling;
struct common_chat_parser_params;
struct common_chat_templates;
struct llama_vocab;

namespace tandem::llm {

class Engine;

// A request the template or grammar machinery rejects; the message says what is wrong, and
// `param` which part of the request it is in.
class ChatInputError : public std::invalid_argument {
 public:
  explicit ChatInputError(const std::string& message, std::string param = "messages")
      : std::invalid_argument(message), param_(std::move(param)) {}
  const std::string& param() const { return param_; }

 private:
  std::string param_;
};

struct ChatInputs {
  std::string messages_json;  // the "messages" array
  std::string tools_json;     // the "tools" array, or empty
  std::string tool_choice;    // "auto", "none", "required" (empty: auto)
  bool parallel_tool_calls = false;
  std::string json_schema;   // from response_format, or empty
  bool json_object = false;  // response_format {"type":"json_object"} without a schema
  // A reasoning model's thinking (<think>...</think>, a harmony analysis channel, ...) is read
  // apart from the answer into ChatReply::reasoning, as llama-server's default does; false
  // (reasoning_format "none") leaves it in the content, tags and all.
  bool extract_reasoning = true;
  // The template's enable_thinking: false asks a reasoning template to skip thinking
  // (reasoning_effort "none", or chat_template_kwargs.enable_thinking false).
  bool enable_thinking = true;
  // chat_template_kwargs: extra variables for the template, each value as JSON text.
  std::map<std::string, std::string> template_kwargs;
  // llama-server's reasoning budget: at most this many tokens of thought (-1: no limit), after
  // which the sampler forces `reasoning_budget_message` and the template's closing tag.
  int reasoning_budget = -1;
  std::string reasoning_budget_message;
};

struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // JSON text
};

struct ChatReply {
  std::string reasoning;  // OpenAI-compatible servers' `reasoning_content`
  std::string content;
  std::vector<ToolCall> tool_calls;
};

class ChatPrompt {
 public:
  ChatPrompt();
  ~ChatPrompt();
  ChatPrompt(ChatPrompt&&) noexcept;
  ChatPrompt& operator=(ChatPrompt&&) noexcept;

  std::string text;                      // the rendered prompt
  std::vector<std::string> extra_stops;  // stop strings the template adds
  bool has_tools = false;
  bool constrained = false;  // decoding follows a grammar
  // The template thinks before it answers and its reasoning is read apart from the content.
  bool reasons = false;
  // The reply is read by the template's parser, not taken as it comes: tool calls; a response
  // format, whose grammar (llama.cpp's) lets the JSON come in a ```json fence or after reasoning,
  // and whose content is the JSON alone; and a reasoning template's reply.
  bool parsed = false;

  // Sets the grammar, triggers and preserved tokens into the sampling parameters, and for a
  // reasoning template the thought's tags: a budget ends the thought, and a tool call's lazy
  // grammar does not wake inside it.
  void apply_to(const Engine& engine, common_params_sampling& sampling) const;
  // The template's thinking tags, by which the engine counts the reply's reasoning tokens (also
  // under reasoning_format "none": a thought is reasoning wherever it is returned). Empty for a
  // template that does not think.
  ThoughtTags thought_tags() const;
  // The reply split into reasoning, content and tool calls (the text as generated unless
  // `parsed`). `cut_short`: generation stopped at max_tokens or the context end.
  ChatReply parse(const std::string& generated, bool cut_short) const;
  // The reasoning and content the parser reads so far in a reply still being generated, for
  // streaming a `parsed` reply (tool calls are left to the end); empty while it reads none or
  // cannot read the text yet.
  ChatReply partial(const std::string& generated) const;

 private:
  friend ChatPrompt render_chat(const common_chat_templates* templates, const ChatInputs& inputs);
  int reasoning_budget_ = -1;  // -1: none (also for a budget of 0, which turns thinking off)
  std::string reasoning_budget_message_;
  struct State;
  std::unique_ptr<State> state_;
};

// Throws ChatInputError for messages, tools or a schema the template cannot take, and for a model
// without chat templates (an embeddings model: `templates` is null).
ChatPrompt render_chat(const common_chat_templates* templates, const ChatInputs& inputs);
ChatPrompt render_chat(const Engine& engine, const ChatInputs& inputs);

// The tokens the rendered prompt takes, tokenised as the local provider tokenises a request:
// what a prompt budget counts. Throws as render_chat does.
std::size_t count_chat_tokens(const llama_vocab* vocab, const common_chat_templates* templates,
                              const ChatInputs& inputs);

}  // namespace tandem::llm
