// llm::ChatPrompt's reading of a reply: llama.cpp's grammar for a response format lets the JSON
// come bare or in a ```json fence, so the content must be what the template's parser reads, in
// full and while it streams; and a reasoning template's thinking is read apart from the answer.
#include "tandem/llm/chat_prompt.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tandem/llm/engine.h"
#include "test_models.h"

namespace tandem::llm {
namespace {

namespace json = boost::json;

constexpr const char* kMessages = R"([{"role":"user","content":"Give JSON"}])";
constexpr const char* kSchema =
    R"({"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]})";

const Engine& engine() {
  static const Engine e(testing::tiny_engine_config(1));
  return e;
}

ChatPrompt structured() {
  ChatInputs in;
  in.messages_json = kMessages;
  in.json_schema = kSchema;
  return render_chat(engine(), in);
}

TEST(ChatPrompt, AStructuredReplyIsItsJsonWhetherFencedOrBare) {
  ChatPrompt prompt = structured();
  ASSERT_TRUE(prompt.constrained);
  ASSERT_TRUE(prompt.parsed);
  // Replies the grammar allows (each was sampled from the tiny model under it).
  const std::vector<std::string> replies = {
      "```json {\"a\":825}```",
      " ```json{ \"a\":-74}\n\t\t ```",
      "\n     \n```json {\n\t\t\"a\"\n:\n7}```",
      "\n    \n  {\"a\"\n\n\t :764} ",
      "{\"a\":-6}",
  };
  for (const auto& reply : replies) {
    const std::string content = prompt.parse(reply, false).content;
    json::value parsed;
    ASSERT_NO_THROW(parsed = json::parse(content))
        << "reply: " << reply << "\ncontent: " << content;
    EXPECT_TRUE(parsed.as_object()["a"].is_int64()) << content;
    EXPECT_EQ(content.find('`'), std::string::npos) << content;
  }
  // json_object mode reads the same way.
  ChatInputs object;
  object.messages_json = kMessages;
  object.json_object = true;
  EXPECT_EQ(
      json::parse(render_chat(engine(), object).parse("```json {\"b\":[1]}```", false).content),
      json::parse(R"({"b":[1]})"));
}

TEST(ChatPrompt, AStructuredReplyStreamsAsContentThatOnlyGrows) {
  // What a stream sends is the partial content's growth: each step must extend the last, and
  // the last must be the whole reply's content.
  ChatPrompt prompt = structured();
  for (const std::string reply :
       {"```json {\"a\": 12}```", "\n\t {\"a\":\n-3}\n ", " ```json\n{ \"a\" : 7 }\n```"}) {
    std::string sent;
    for (std::size_t n = 1; n <= reply.size(); ++n) {
      const std::string content = prompt.partial(reply.substr(0, n)).content;
      ASSERT_TRUE(content.starts_with(sent)) << "after " << n << " chars of " << reply << ": '"
                                             << content << "' after '" << sent << "'";
      sent = content;
    }
    EXPECT_EQ(sent, prompt.parse(reply, false).content) << reply;
    EXPECT_NO_THROW(json::parse(sent)) << sent;
  }
}

TEST(ChatPrompt, APlainReplyIsTakenAsGenerated) {
  // Without tools or a response format nothing is parsed: fences, spaces and all are the content.
  ChatInputs in;
  in.messages_json = kMessages;
  ChatPrompt prompt = render_chat(engine(), in);
  EXPECT_FALSE(prompt.parsed);
  EXPECT_FALSE(prompt.reasons);  // Qwen2.5's template does not think
  const std::string reply = "  ```json {\"a\":1}```\n";
  EXPECT_EQ(prompt.parse(reply, false).content, reply);
  EXPECT_EQ(prompt.partial(reply).content, reply);
}

// The tiny model with a reasoning model's template. Qwen3's lets the model open <think> itself;
// Qwen3.5's opens it in the prompt, so everything up to </think> is reasoning.
const Engine& thinking_engine(const std::string& template_file) {
  static std::map<std::string, std::unique_ptr<Engine>> engines;
  auto& e = engines[template_file];
  if (!e) {
    EngineConfig c = testing::tiny_engine_config(1);
    c.path = testing::tiny_model_with_template(template_file);
    e = std::make_unique<Engine>(c);
  }
  return *e;
}

ChatPrompt thinking_prompt(const std::string& template_file, ChatInputs in = {}) {
  if (in.messages_json.empty()) in.messages_json = kMessages;
  return render_chat(thinking_engine(template_file), in);
}

TEST(ChatPrompt, AReasoningTemplatesThinkingIsReadApartFromTheAnswer) {
  ChatPrompt qwen3 = thinking_prompt("Qwen-Qwen3-0.6B.jinja");
  EXPECT_TRUE(qwen3.reasons);
  EXPECT_TRUE(qwen3.parsed);
  EXPECT_FALSE(qwen3.constrained);
  ChatReply reply = qwen3.parse("<think>\nThe user wants JSON.\n</think>\n\nHere it is.", false);
  EXPECT_EQ(reply.reasoning, "The user wants JSON.");
  EXPECT_EQ(reply.content, "Here it is.");
  // A reply that does not think is all content.
  reply = qwen3.parse("Just the answer.", false);
  EXPECT_EQ(reply.reasoning, "");
  EXPECT_EQ(reply.content, "Just the answer.");

  ChatPrompt qwen35 = thinking_prompt("Qwen3.5-4B.jinja");
  EXPECT_TRUE(qwen35.reasons);
  EXPECT_TRUE(qwen35.text.ends_with("<think>\n")) << qwen35.text;
  reply = qwen35.parse("Thinking it over.\n</think>\n\nThe answer.", false);
  EXPECT_EQ(reply.reasoning, "Thinking it over.");
  EXPECT_EQ(reply.content, "The answer.");
  // Cut short while thinking: all of it is reasoning, and there is no answer yet.
  reply = qwen35.parse("Still thinking about", true);
  EXPECT_EQ(reply.reasoning, "Still thinking about");
  EXPECT_EQ(reply.content, "");
}

TEST(ChatPrompt, ThinkingCanBeTurnedOffOrLeftInTheContent) {
  // enable_thinking false: the template closes the thought in the prompt; the reply is the answer.
  ChatInputs off;
  off.enable_thinking = false;
  ChatPrompt no_thinking = thinking_prompt("Qwen3.5-4B.jinja", off);
  EXPECT_TRUE(no_thinking.text.ends_with("</think>\n\n")) << no_thinking.text;
  ChatReply reply = no_thinking.parse("The answer.", false);
  EXPECT_EQ(reply.reasoning, "");
  EXPECT_EQ(reply.content, "The answer.");

  // reasoning_format "none": the thought stays in the content, tags and all, the one the prompt
  // opened included.
  ChatInputs raw;
  raw.extract_reasoning = false;
  ChatPrompt inline_qwen3 = thinking_prompt("Qwen-Qwen3-0.6B.jinja", raw);
  EXPECT_FALSE(inline_qwen3.reasons);
  const std::string text = "<think>\nHmm.\n</think>\n\nOK.";
  EXPECT_EQ(inline_qwen3.parse(text, false).content, text);
  EXPECT_EQ(inline_qwen3.parse(text, false).reasoning, "");
  ChatPrompt inline_qwen35 = thinking_prompt("Qwen3.5-4B.jinja", raw);
  ChatReply reply35 = inline_qwen35.parse("Hmm.\n</think>\n\nOK.", false);
  EXPECT_EQ(reply35.content, "<think>\nHmm.\n</think>\n\nOK.");
  EXPECT_EQ(reply35.reasoning, "");
}

TEST(ChatPrompt, AReasoningModelsStructuredReplyIsItsJsonAfterTheThought) {
  ChatInputs in;
  in.json_schema = kSchema;
  ChatPrompt prompt = thinking_prompt("Qwen-Qwen3-0.6B.jinja", in);
  ASSERT_TRUE(prompt.constrained);
  for (const std::string text : {"<think>\nA number.\n</think>\n\n{\"a\": 5}",
                                 "<think>A number.</think>```json\n{\"a\":5}\n```"}) {
    ChatReply reply = prompt.parse(text, false);
    EXPECT_EQ(reply.reasoning, "A number.") << text;
    EXPECT_EQ(json::parse(reply.content), json::parse(R"({"a":5})")) << text;
  }
}

TEST(ChatPrompt, AReplyTheParserCannotReadKeepsItsThoughtApart) {
  // Text the format's grammar would not have let through (a model run without it, or a stop
  // string that cut the JSON): the parser gives up, and the reply is returned as it came, but for
  // the leading thought, which stays reasoning. A stream that sent it as reasoning_content does
  // not send it again as content.
  ChatInputs in;
  in.json_schema = kSchema;
  ChatPrompt prompt = thinking_prompt("Qwen-Qwen3-0.6B.jinja", in);
  ChatReply reply = prompt.parse("<think>\nA number.\n</think>\n\nno JSON here", false);
  EXPECT_EQ(reply.reasoning, "A number.");
  EXPECT_EQ(reply.content, "no JSON here");
  EXPECT_TRUE(reply.tool_calls.empty());
  // Without a thought, all of it is the content, as before.
  reply = prompt.parse("no JSON here", false);
  EXPECT_EQ(reply.reasoning, "");
  EXPECT_EQ(reply.content, "no JSON here");
}

TEST(ChatPrompt, AThoughtThenAToolCall) {
  ChatInputs in;
  in.tools_json =
      R"([{"type":"function","function":{"name":"lookup","description":"Look a word up",)"
      R"("parameters":{"type":"object","properties":{"word":{"type":"string"}},)"
      R"("required":["word"]}}}])";
  ChatPrompt prompt = thinking_prompt("Qwen-Qwen3-0.6B.jinja", in);
  ASSERT_TRUE(prompt.has_tools);
  ChatReply reply = prompt.parse(
      "<think>\nI should look it up.\n</think>\n\n<tool_call>\n"
      "{\"name\": \"lookup\", \"arguments\": {\"word\": \"tandem\"}}\n</tool_call>",
      false);
  EXPECT_EQ(reply.reasoning, "I should look it up.");
  EXPECT_EQ(reply.content, "");
  ASSERT_EQ(reply.tool_calls.size(), 1u);
  EXPECT_EQ(reply.tool_calls[0].name, "lookup");
  EXPECT_EQ(json::parse(reply.tool_calls[0].arguments), json::parse(R"({"word":"tandem"})"));
}

TEST(ChatPrompt, AThoughtAndItsAnswerStreamAsTextsThatOnlyGrow) {
  // Fed one character at a time, the reasoning read so far and the content read so far each
  // extend what was read before, and end as the whole reply's.
  for (const std::string file : {"Qwen-Qwen3-0.6B.jinja", "Qwen3.5-4B.jinja"}) {
    ChatPrompt prompt = thinking_prompt(file);
    const std::string reply = file == "Qwen3.5-4B.jinja"
                                  ? "Some thought.\n</think>\n\nAn answer."
                                  : "<think>\nSome thought.\n</think>\n\nAn answer.";
    ChatReply sent;
    for (std::size_t n = 1; n <= reply.size(); ++n) {
      ChatReply read = prompt.partial(reply.substr(0, n));
      ASSERT_TRUE(read.reasoning.starts_with(sent.reasoning))
          << file << " after " << n << ": '" << read.reasoning << "' after '" << sent.reasoning
          << "'";
      ASSERT_TRUE(read.content.starts_with(sent.content))
          << file << " after " << n << ": '" << read.content << "' after '" << sent.content << "'";
      sent = read;
    }
    ChatReply whole = prompt.parse(reply, false);
    EXPECT_EQ(sent.reasoning, whole.reasoning) << file;
    EXPECT_EQ(sent.content, whole.content) << file;
    EXPECT_EQ(whole.reasoning, "Some thought.") << file;
    EXPECT_EQ(whole.content, "An answer.") << file;
  }
}

}  // namespace
}  // namespace tandem::llm
