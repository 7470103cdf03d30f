// llm::ChatPrompt's reading of a reply: llama.cpp's grammar for a response format lets the JSON
// come bare or in a ```json fence, so the content must be what the template's parser reads, in
// full and while it streams.
#include "tandem/llm/chat_prompt.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
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
      const std::string content = prompt.partial_content(reply.substr(0, n));
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
  const std::string reply = "  ```json {\"a\":1}```\n";
  EXPECT_EQ(prompt.parse(reply, false).content, reply);
  EXPECT_EQ(prompt.partial_content(reply), reply);
}

}  // namespace
}  // namespace tandem::llm
