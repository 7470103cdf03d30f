#include "tandem/llm/chat_prompt.h"

#include <chat.h>
#include <common.h>
#include <json-schema-to-grammar.h>
#include <json.h>

#include <exception>

#include "tandem/llm/engine.h"
#include "tandem/llm/grammar_check.h"

namespace tandem::llm {

struct ChatPrompt::State {
  common_chat_params params;
  common_chat_parser_params parser;
};

ChatPrompt::ChatPrompt() : state_(std::make_unique<State>()) {}
ChatPrompt::~ChatPrompt() = default;
ChatPrompt::ChatPrompt(ChatPrompt&&) noexcept = default;
ChatPrompt& ChatPrompt::operator=(ChatPrompt&&) noexcept = default;

namespace {

// llama.cpp's tool-call grammars let free text come before the first call, even when a call is
// required ("until-N? tool-calls"). A weak model may never leave that text, so when tool_choice
// requires a call, the call starts at once (what "required" means in OpenAI's API). Only the
// "until-N?" right before the calls goes: a reasoning template's root has another "until-M" in
// its thought's group. Grammars of another shape are left as they are.
void require_tool_call_first(std::string& grammar) {
  std::size_t root = grammar.find("root ::= ");
  if (root == std::string::npos) return;
  std::size_t end = grammar.find('\n', root);
  std::string line =
      grammar.substr(root, end == std::string::npos ? std::string::npos : end - root);
  std::size_t calls = line.find("? tool-calls");
  if (calls == std::string::npos) return;
  std::size_t until = line.rfind(" until-", calls);
  if (until == std::string::npos) return;
  const std::string rule = line.substr(until + 7, calls - until - 7);  // the N of until-N
  if (rule.empty() || rule.find_first_not_of("0123456789") != std::string::npos) return;
  line.erase(until, calls + 1 - until);
  grammar.replace(root, end == std::string::npos ? std::string::npos : end - root, line);
}

// The parser keeps the line break before the closing tag in the reasoning ("...\n</think>"); it
// is the tag's, not the thought's. Trimmed while streaming too, the reasoning still only grows.
std::string trim_end(const std::string& text) {
  std::size_t end = text.find_last_not_of(" \t\r\n");
  return end == std::string::npos ? std::string() : text.substr(0, end + 1);
}

}  // namespace

ChatPrompt render_chat(const Engine& engine, const ChatInputs& in) {
  return render_chat(engine.chat_templates(), in);
}

std::size_t count_chat_tokens(const llama_vocab* vocab, const common_chat_templates* templates,
                              const ChatInputs& inputs) {
  return common_tokenize(vocab, render_chat(templates, inputs).text, true, true).size();
}

ChatPrompt render_chat(const common_chat_templates* templates, const ChatInputs& in) {
  if (templates == nullptr) {
    throw ChatInputError("this local model serves embeddings, not chat");
  }
  common_chat_templates_inputs inputs;
  try {
    inputs.messages = common_chat_msgs_parse_oaicompat(common_json::parse(in.messages_json));
    if (!in.tools_json.empty()) {
      inputs.tools = common_chat_tools_parse_oaicompat(common_json::parse(in.tools_json));
    }
    if (!in.tool_choice.empty()) {
      inputs.tool_choice = common_chat_tool_choice_parse_oaicompat(in.tool_choice);
    }
  } catch (const std::exception& e) {
    throw ChatInputError(std::string("messages or tools rejected: ") + e.what());
  }
  if (inputs.messages.empty()) throw ChatInputError("messages must not be empty");
  inputs.parallel_tool_calls = in.parallel_tool_calls;
  // DEEPSEEK, llama-server's default: reasoning goes to reasoning_content, streamed too.
  inputs.reasoning_format =
      in.extract_reasoning ? COMMON_REASONING_FORMAT_DEEPSEEK : COMMON_REASONING_FORMAT_NONE;
  // A budget of 0 is no thinking: the template closes the thought in the prompt. (llama.cpp's
  // budget sampler would take a prompt-opened thought's "<think>\n" as the start and then spend
  // its forced closing tag on the newline.)
  inputs.enable_thinking = in.enable_thinking && in.reasoning_budget != 0;
  inputs.chat_template_kwargs = in.template_kwargs;
  // The template reads its kwargs over enable_thinking: thinking turned off stays off there too.
  if (!inputs.enable_thinking) inputs.chat_template_kwargs["enable_thinking"] = "false";
  inputs.use_jinja = true;
  inputs.add_generation_prompt = true;
  if (!in.json_schema.empty()) {
    inputs.json_schema = in.json_schema;
  } else if (in.json_object) {
    inputs.json_schema = "{\"type\":\"object\"}";
  }
  ChatPrompt out;
  try {
    out.state_->params = common_chat_templates_apply(templates, inputs);
  } catch (const std::exception& e) {
    throw ChatInputError(std::string("the chat template rejected the request: ") + e.what());
  }
  auto& params = out.state_->params;
  if (inputs.tool_choice == COMMON_CHAT_TOOL_CHOICE_REQUIRED)
    require_tool_call_first(params.grammar);
  if (params.grammar.empty() && !inputs.json_schema.empty()) {
    // Templates without their own structured-output handling: the schema's grammar directly.
    try {
      params.grammar = json_schema_to_grammar(common_json::parse(inputs.json_schema));
    } catch (const std::exception& e) {
      throw ChatInputError(std::string("response_format schema rejected: ") + e.what(),
                           "response_format");
    }
  }
  if (std::string problem = grammar_problem(params.grammar); !problem.empty()) {
    throw ChatInputError(
        (inputs.tools.empty() ? "response_format schema rejected: " : "tools rejected: ") + problem,
        inputs.tools.empty() ? "response_format" : "tools");
  }
  if (!in.extract_reasoning && !params.grammar.empty() && !params.grammar_lazy &&
      prompt_opens_thought(out.thought_tags())) {
    // Only the formats that read the thought apart build a grammar that admits it; under "none"
    // the grammar (a response format's, a required call's) cannot take the thought the prompt
    // opened, and llama.cpp's sampler would fail to start.
    throw ChatInputError(
        std::string("reasoning_format \"none\" cannot be combined with ") +
            (inputs.tools.empty() ? "response_format" : "a required tool call") +
            " on this model: its chat template opens a thought in the prompt, which the "
            "constrained output has no room for; leave reasoning_format out and the thought comes "
            "back as reasoning_content",
        "reasoning_format");
  }
  out.text = params.prompt;
  out.extra_stops = params.additional_stops;
  out.has_tools = !inputs.tools.empty() && inputs.tool_choice != COMMON_CHAT_TOOL_CHOICE_NONE;
  out.constrained = !params.grammar.empty();
  out.reasons = in.extract_reasoning && params.supports_thinking;
  // A reasoning template's reply is parsed even when its thought stays in the content: the parser
  // puts back a thought the prompt opened (Qwen3.5's ends with "<think>\n"), as llama-server does.
  out.parsed = out.has_tools || !inputs.json_schema.empty() || params.supports_thinking;
  // A budget of 0 closed the thought in the prompt above: no budget is left to force.
  out.reasoning_budget_ = in.reasoning_budget == 0 ? -1 : in.reasoning_budget;
  out.reasoning_budget_message_ = in.reasoning_budget_message;
  out.state_->parser = common_chat_parser_params(params);
  out.state_->parser.reasoning_format = inputs.reasoning_format;
  out.state_->parser.parse_tool_calls = out.has_tools;
  if (!params.parser.empty()) out.state_->parser.parser.load(params.parser);
  return out;
}

void ChatPrompt::apply_to(const Engine& engine, common_params_sampling& sampling) const {
  const auto& params = state_->params;
  if (params.supports_thinking && !params.thinking_start_tag.empty() &&
      !params.thinking_end_tags.empty()) {
    // As llama-server sets them: llama.cpp's reasoning-budget sampler follows the thought by these
    // tags (from the generation prompt on, so a thought the prompt opened counts) and, with a
    // budget, forces the message and the first closing tag once it is spent.
    sampling.reasoning_budget_tokens = reasoning_budget_;
    sampling.reasoning_budget_start = engine.tokenize(params.thinking_start_tag, false, true);
    for (const auto& tag : params.thinking_end_tags) {
      sampling.reasoning_budget_end.push_back(engine.tokenize(tag, false, true));
    }
    sampling.reasoning_budget_forced =
        reasoning_budget_message_.empty()
            ? std::vector<llama_token>{}
            : engine.tokenize(reasoning_budget_message_, false, false);
    const auto& end = sampling.reasoning_budget_end.front();
    sampling.reasoning_budget_forced.insert(sampling.reasoning_budget_forced.end(), end.begin(),
                                            end.end());
    sampling.generation_prompt = params.generation_prompt;
  }
  // The template's markers (thinking tags, tool-call openers) that are single tokens: the engine
  // gives them text even when the vocabulary makes them control tokens, so the parser sees them,
  // and a grammar trigger may match them as tokens. With or without a grammar, as llama-server.
  for (const auto& word : params.preserved_tokens) {
    auto ids = engine.tokenize(word, false, true);
    if (ids.size() == 1) sampling.preserved_tokens.insert(ids[0]);
  }
  if (params.grammar.empty()) return;
  sampling.grammar =
      common_grammar(has_tools ? COMMON_GRAMMAR_TYPE_TOOL_CALLS : COMMON_GRAMMAR_TYPE_OUTPUT_FORMAT,
                     params.grammar);
  sampling.grammar_lazy = params.grammar_lazy;
  sampling.generation_prompt = params.generation_prompt;
  for (const auto& trigger : params.grammar_triggers) {
    if (trigger.type == COMMON_GRAMMAR_TRIGGER_TYPE_WORD) {
      auto ids = engine.tokenize(trigger.value, false, true);
      if (ids.size() == 1 && sampling.preserved_tokens.contains(ids[0])) {
        common_grammar_trigger t;
        t.type = COMMON_GRAMMAR_TRIGGER_TYPE_TOKEN;
        t.value = trigger.value;
        t.token = ids[0];
        sampling.grammar_triggers.push_back(std::move(t));
        continue;
      }
    }
    sampling.grammar_triggers.push_back(trigger);
  }
  if (sampling.grammar_lazy && sampling.grammar_triggers.empty()) sampling.grammar_lazy = false;
}

ThoughtTags ChatPrompt::thought_tags() const {
  const auto& params = state_->params;
  if (!params.supports_thinking) return {};
  return {params.thinking_start_tag, params.thinking_end_tags, params.generation_prompt};
}

ChatReply ChatPrompt::parse(const std::string& generated, bool cut_short) const {
  ChatReply reply;
  if (!parsed) {
    reply.content = generated;
    return reply;
  }
  try {
    // A reply cut by max_tokens may end inside a call: parsed as partial, the complete calls count.
    common_chat_msg msg = common_chat_parse(generated, cut_short, state_->parser);
    reply.reasoning = trim_end(msg.reasoning_content);
    reply.content = msg.content;
    int n = 0;
    for (auto& call : msg.tool_calls) {
      // A call cut off by max_tokens has arguments that do not parse yet: not a call.
      if (cut_short && common_json::parse_no_throw(call.arguments).is_discarded()) continue;
      ToolCall t;
      t.id = call.id.empty() ? "call_" + std::to_string(n) : call.id;
      t.name = call.name;
      t.arguments = call.arguments;
      reply.tool_calls.push_back(std::move(t));
      ++n;
    }
  } catch (const std::exception&) {
    // Output the parser cannot read is returned as plain content, as llama-server does; but a
    // leading thought stays reasoning (split by its tags), so neither a stream, which has sent it
    // as reasoning already, nor a client reading the content gets it twice or as the answer.
    reply.reasoning.clear();
    reply.content = generated;
    reply.tool_calls.clear();
    if (reasons) {
      SplitReply split = split_thought(thought_tags(), generated);
      reply.reasoning = trim_end(split.thought);
      reply.content = std::move(split.rest);
    }
  }
  return reply;
}

ChatReply ChatPrompt::partial(const std::string& generated) const {
  ChatReply reply;
  if (!parsed) {
    reply.content = generated;
    return reply;
  }
  try {
    common_chat_msg msg = common_chat_parse(generated, true, state_->parser);
    reply.reasoning = trim_end(msg.reasoning_content);
    reply.content = std::move(msg.content);
  } catch (const std::exception&) {
    // Nothing readable yet: nothing to stream until more text comes.
  }
  return reply;
}

}  // namespace tandem::llm
