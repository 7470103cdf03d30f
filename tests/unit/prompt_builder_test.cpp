#include "tandem/prompts/prompt_builder.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <string>
#include <vector>

namespace tandem::prompts {
namespace {

using boost::json::object;

class WordCountEmbedder : public SentenceEmbedder {
 public:
  std::vector<float> embed(std::string_view text) const override {
    std::vector<float> v(3, 0.0f);
    const char* words[] = {"cat", "dog", "fish"};
    for (int i = 0; i < 3; ++i) {
      for (std::size_t p = text.find(words[i]); p != std::string_view::npos;
           p = text.find(words[i], p + 1)) {
        v[static_cast<std::size_t>(i)] += 1;
      }
    }
    return v;
  }
};

config::TaskConfig label_task() {
  config::TaskConfig t;
  t.name = "pets";
  t.kind = "text";
  t.contract = "labels";
  t.labels = {"cat", "dog", "fish"};
  return t;
}

config::VariantConfig llm_variant() {
  config::VariantConfig v;
  v.name = "small";
  v.kind = "llm";
  v.model = "m";
  v.user_template = "Which pet? {{ text }}";
  return v;
}

std::string error_of(const config::TaskConfig& t, const config::VariantConfig& v,
                     BuilderOptions o = {}) {
  try {
    PromptBuilder b(t, v, std::move(o));
  } catch (const PromptError& e) {
    return e.what();
  }
  return "";
}

std::string dump(const std::vector<ChatMessage>& messages) {
  std::string out;
  for (const auto& m : messages) out += m.role + ": " + m.content + "\n";
  return out;
}

TEST(PromptBuilder, LabelTaskMessagesAndResponseFormat) {
  auto v = llm_variant();
  v.system_template = "Answer with one of {{ labels | join(', ') }} for task {{ task }}.";
  v.examples = {{R"({"text": "it meows"})", R"("cat")"},
                {R"({"text": "it barks"})", R"({"label": "dog"})"}};
  PromptBuilder b(label_task(), v);
  EXPECT_EQ(b.what(), "task pets, variant small");
  EXPECT_EQ(b.example_count(), 2u);
  PromptRequest r = b.build(object{{"text", "it swims"}});
  EXPECT_EQ(dump(r.messages),
            "system: Answer with one of cat, dog, fish for task pets.\n"
            "user: Which pet? it meows\n"
            "assistant: {\"label\":\"cat\"}\n"
            "user: Which pet? it barks\n"
            "assistant: {\"label\":\"dog\"}\n"
            "user: Which pet? it swims\n");
  EXPECT_EQ(r.examples, (std::vector<std::size_t>{0, 1}));
  EXPECT_FALSE(r.prompt_tokens);
  EXPECT_EQ(boost::json::serialize(r.response_format),
            R"({"type":"json_schema","json_schema":{"name":"label","strict":true,"schema":)"
            R"({"type":"object","properties":{"label":{"type":"string","enum":["cat","dog",)"
            R"("fish"]}},"required":["label"],"additionalProperties":false}}})");
  EXPECT_EQ(boost::json::serialize(messages_json(r.messages)[0]),
            R"({"role":"system","content":"Answer with one of cat, dog, fish for task pets."})");
}

TEST(PromptBuilder, ExamplesReadByTheTemplateAreNotTurns) {
  auto v = llm_variant();
  v.user_template =
      "{% for e in examples %}{{ e.input.text }} -> {{ e.output }}\n{% endfor %}{{ text }} ->";
  v.examples = {{R"({"text": "meow"})", R"("cat")"}, {R"({"text": "woof"})", R"("dog")"}};
  PromptBuilder b(label_task(), v);
  PromptRequest r = b.build(object{{"text", "blub"}});
  EXPECT_EQ(dump(r.messages), "user: meow -> cat\nwoof -> dog\nblub ->\n");
}

TEST(PromptBuilder, RetrievesNearestExamplesMostSimilarLast) {
  auto v = llm_variant();
  v.retrieve_examples = 2;
  v.embedder = "test";
  v.examples = {{R"({"text": "cat cat"})", R"("cat")"},
                {R"({"text": "dog"})", R"("dog")"},
                {R"({"text": "fish"})", R"("fish")"},
                {R"({"text": "cat dog"})", R"("cat")"}};
  BuilderOptions o;
  o.embedder = std::make_shared<WordCountEmbedder>();
  PromptBuilder b(label_task(), v, o);
  PromptRequest r = b.build(object{{"text", "a cat"}});
  EXPECT_EQ(r.examples, (std::vector<std::size_t>{3, 0}));
  EXPECT_EQ(dump(r.messages),
            "user: Which pet? cat dog\nassistant: {\"label\":\"cat\"}\n"
            "user: Which pet? cat cat\nassistant: {\"label\":\"cat\"}\n"
            "user: Which pet? a cat\n");
  // An embedder other than glove must be given.
  EXPECT_EQ(error_of(label_task(), v),
            "task pets, variant small: retrieves examples with embedder 'test', which was not "
            "given to the prompt builder");
}

TEST(PromptBuilder, BudgetDropsLeastSimilarExamplesFirst) {
  auto v = llm_variant();
  v.retrieve_examples = 3;
  v.examples = {{R"({"text": "cat cat"})", R"("cat")"},
                {R"({"text": "dog dog"})", R"("dog")"},
                {R"({"text": "cat dog"})", R"("cat")"},
                {R"({"text": "fish"})", R"("fish")"}};
  BuilderOptions o;
  o.embedder = std::make_shared<WordCountEmbedder>();
  // One token per message: the budget counts turns.
  TokenCounter turns = [](std::span<const ChatMessage> m) { return m.size(); };
  v.max_prompt_tokens = 7;  // 3 examples = 7 messages: all fit
  PromptRequest r = PromptBuilder(label_task(), v, o).build(object{{"text", "cat"}}, turns);
  EXPECT_EQ(r.examples, (std::vector<std::size_t>{1, 2, 0}));
  EXPECT_EQ(r.examples_dropped, 0u);
  EXPECT_EQ(r.prompt_tokens, 7u);

  v.max_prompt_tokens = 4;  // one example (3 messages) fits; the least similar go first
  r = PromptBuilder(label_task(), v, o).build(object{{"text", "cat"}}, turns);
  EXPECT_EQ(r.examples, (std::vector<std::size_t>{0}));
  EXPECT_EQ(r.examples_dropped, 2u);
  EXPECT_EQ(r.prompt_tokens, 3u);
  EXPECT_EQ(r.messages.back().content, "Which pet? cat");

  v.max_prompt_tokens = 1;  // the question alone fits
  r = PromptBuilder(label_task(), v, o).build(object{{"text", "cat"}}, turns);
  EXPECT_TRUE(r.examples.empty());
  EXPECT_EQ(r.examples_dropped, 3u);

  // Static examples: dropped from the front (the earliest, farthest from the question).
  v.retrieve_examples = 0;
  v.max_prompt_tokens = 5;
  r = PromptBuilder(label_task(), v).build(object{{"text", "cat"}}, turns);
  EXPECT_EQ(r.examples, (std::vector<std::size_t>{2, 3}));

  // Without a counter: the estimate.
  v.max_prompt_tokens = 12;
  r = PromptBuilder(label_task(), v).build(object{{"text", "cat"}});
  EXPECT_EQ(r.prompt_tokens, estimate_tokens(r.messages));
  EXPECT_LE(*r.prompt_tokens, 12u);
}

TEST(PromptBuilder, BudgetTooSmallForTheQuestionIsAnError) {
  auto v = llm_variant();
  v.max_prompt_tokens = 10;
  v.examples = {{R"({"text": "meow"})", R"("cat")"}};
  PromptBuilder b(label_task(), v);
  try {
    b.build(object{{"text", std::string(400, 'x')}});
    FAIL();
  } catch (const PromptError& e) {
    EXPECT_STREQ(e.what(),
                 "task pets, variant small: the prompt needs 107 tokens without any few-shot "
                 "example, more than max_prompt_tokens 10");
  }
}

TEST(PromptBuilder, JsonTaskUsesTheSchema) {
  config::TaskConfig t;
  t.name = "extract people!";
  t.contract = "json";
  t.schema_json = R"({"type": "object", "properties": {"name": {"type": "string"}},
                      "required": ["name"]})";
  auto v = llm_variant();
  v.user_template = "Extract as {{ schema }}: {{ text }}";
  v.examples = {{R"({"text": "I am Ann"})", R"({"name": "Ann"})"}};
  PromptBuilder b(t, v);
  PromptRequest r = b.build(object{{"text", "Bob here"}});
  EXPECT_EQ(r.messages[0].content,
            "Extract as {\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"}},"
            "\"required\":[\"name\"]}: I am Ann");
  EXPECT_EQ(r.messages[1].content, "{\"name\":\"Ann\"}");
  EXPECT_EQ(r.response_format.at("json_schema").at("name"), "extract_people_");
  EXPECT_EQ(r.response_format.at("json_schema").at("schema"), b.schema()->json());

  auto a = b.parse_answer("```json\n{\"name\": \"Bob\"}\n```");
  ASSERT_TRUE(a.output) << a.error;
  EXPECT_EQ(a.output->at("name"), "Bob");
  a = b.parse_answer("Sure! Here it is: {\"name\": \"Bob\"} Hope it helps.");
  ASSERT_TRUE(a.output) << a.error;
  a = b.parse_answer("{\"nom\": \"Bob\"}");
  ASSERT_FALSE(a.output);
  EXPECT_EQ(a.error, "at the top level: missing property \"name\"");
  EXPECT_EQ(a.retry_prompt,
            "Your reply \"{\\\"nom\\\": \\\"Bob\\\"}\" was invalid: at the top level: missing "
            "property \"name\". Answer again with only a JSON object that matches this JSON "
            "schema: " +
                boost::json::serialize(b.schema()->json()) + ".");
  a = b.parse_answer("[1]");
  EXPECT_EQ(a.error, "expected a JSON object, got array");
  a = b.parse_answer("no json at all");
  EXPECT_EQ(a.error.rfind("it is not valid JSON (", 0), 0u) << a.error;
}

TEST(PromptBuilder, TextTaskHasNoResponseFormat) {
  config::TaskConfig t;
  t.name = "summary";
  t.contract = "text";
  auto v = llm_variant();
  v.examples = {{R"({"text": "long"})", R"("short")"}};
  PromptBuilder b(t, v);
  PromptRequest r = b.build(object{{"text", "x"}});
  EXPECT_TRUE(r.response_format.is_null());
  EXPECT_EQ(r.messages[1].content, "short");
  auto a = b.parse_answer("  a summary \xff");
  ASSERT_TRUE(a.output);
  EXPECT_EQ(a.output->at("text"), "  a summary \xef\xbf\xbd");
}

TEST(PromptBuilder, StartErrorsNameTaskAndVariant) {
  auto v = llm_variant();
  v.user_template = "{{ txt }}";
  EXPECT_EQ(error_of(label_task(), v),
            "task pets, variant small, template: line 1, column 4: unknown variable 'txt' (a "
            "template may use the input fields text, and input, examples, labels, schema, task)");
  v = llm_variant();
  v.system_template = "{% if %}";
  EXPECT_EQ(error_of(label_task(), v).rfind("task pets, variant small, system_template: line 1", 0),
            0u);
  v = llm_variant();
  v.user_template = "";
  EXPECT_EQ(error_of(label_task(), v), "task pets, variant small: the template is empty");
  v = llm_variant();
  v.kind = "tailored";
  EXPECT_EQ(error_of(label_task(), v), "task pets, variant small: not an llm variant");

  v = llm_variant();
  v.examples = {{R"({"text": "a"})", R"("bird")"}};
  EXPECT_EQ(error_of(label_task(), v),
            "task pets, variant small: example 1: output \"bird\" is not one of the task's labels "
            "(\"cat\", \"dog\", \"fish\")");
  v.examples = {{R"({"body": "a"})", R"("cat")"}};
  EXPECT_EQ(error_of(label_task(), v),
            "task pets, variant small: example 1: task pets, variant small, template: the input "
            "has no field 'text', which the template uses");
  v.examples = {{R"({"text": "a"})", R"(cat)"}};
  EXPECT_EQ(error_of(label_task(), v).rfind("task pets, variant small: example 1: output: ", 0),
            0u);

  auto t = label_task();
  t.labels.clear();
  EXPECT_EQ(error_of(t, llm_variant()), "task pets, variant small: a labels task needs labels");
  t.contract = "ranked";
  EXPECT_EQ(error_of(t, llm_variant()),
            "task pets, variant small: an llm variant answers a labels, json or text task, not "
            "'ranked'");
  t.contract = "json";
  EXPECT_EQ(error_of(t, llm_variant()), "task pets, variant small: a json task needs a schema");
  t.schema_json = R"({"type": "object", "properties": {"n": {"type": "integer", "format": "x"}}})";
  EXPECT_EQ(error_of(t, llm_variant()),
            "task pets: schema: at /properties/n: unsupported keyword 'format'");
  t.schema_json = R"({"type": "array"})";
  EXPECT_EQ(error_of(t, llm_variant()),
            "task pets: schema: the answer must be an object (\"type\": \"object\" at the top "
            "level), as structured-output APIs require");
  t.schema_json = R"({"type": "object", "required": ["n"]})";
  v = llm_variant();
  v.examples = {{R"({"text": "a"})", R"({"m": 1})"}};
  EXPECT_EQ(error_of(t, v),
            "task pets, variant small: example 1: output does not match the task's schema: at "
            "the top level: missing property \"n\"");
}

TEST(PromptBuilder, RequestErrorsAreClear) {
  auto t = label_task();
  t.input_fields = {"text", "title"};
  auto v = llm_variant();
  v.user_template = "{{ title }}: {{ text }}";
  PromptBuilder b(t, v);
  try {
    b.build(object{{"text", "x"}});
    FAIL();
  } catch (const PromptError& e) {
    EXPECT_STREQ(e.what(),
                 "task pets, variant small, template: the input has no field 'title', which the "
                 "template uses");
  }
  // Hostile input: huge strings, invalid UTF-8 and deep nesting.
  std::string huge(1 << 20, 'z');
  EXPECT_EQ(b.build(object{{"text", huge}, {"title", "t"}}).messages[0].content.size(),
            huge.size() + 3);
  EXPECT_NO_THROW(b.build(object{{"text", "\xc3\x28"}, {"title", "t"}}));
  boost::json::value deep = object{};
  for (int i = 0; i < 200; ++i) deep = object{{"a", deep}};
  EXPECT_THROW(b.build(object{{"text", deep}, {"title", "t"}}), PromptError);
}

TEST(ParseAnswer, Labels) {
  std::vector<std::string> labels{"positive", "negative", "1"};
  auto ok = [&](std::string_view reply) {
    auto a = parse_answer("labels", labels, nullptr, reply);
    return a.output ? std::string(a.output->at("label").get_string()) : "ERR " + a.error;
  };
  EXPECT_EQ(ok(R"({"label": "positive"})"), "positive");
  EXPECT_EQ(ok(" \"negative\"\n"), "negative");
  EXPECT_EQ(ok("positive"), "positive");
  EXPECT_EQ(ok("1"), "1");
  EXPECT_EQ(ok("```json\n{\"label\":\"negative\"}\n```"), "negative");
  // On one line, as the local provider's grammar allows; a fence without a language tag.
  EXPECT_EQ(ok("```json {\"label\": \"positive\"}\n\n ```"), "positive");
  EXPECT_EQ(ok("```json\t\"negative\" ```"), "negative");
  EXPECT_EQ(ok("```\"positive\"```"), "positive");
  EXPECT_EQ(ok("```positive```"), "positive");
  EXPECT_EQ(ok("```json{\"label\":\"negative\"}```"), "negative");
  // Cut short by max_tokens before the closing fence.
  EXPECT_EQ(ok("\n ```json\n    \t\"negative\"\n\n\t "), "negative");
  EXPECT_EQ(ok(R"({"label": "neutral"})"),
            "ERR at /label: expected one of \"positive\", \"negative\", \"1\", got \"neutral\"");
  EXPECT_EQ(ok(R"({"label": "positive", "why": "x"})"),
            "ERR at the top level: property \"why\" is not allowed");
  EXPECT_EQ(ok(R"("neutral")"),
            "ERR expected one of \"positive\", \"negative\", \"1\", got \"neutral\"");
  EXPECT_EQ(ok("Positive.").rfind("ERR it is neither JSON (", 0), 0u);
  auto a = parse_answer("labels", labels, nullptr, "maybe");
  EXPECT_EQ(a.retry_prompt.rfind("Your reply \"maybe\" was invalid: it is neither JSON", 0), 0u);
  EXPECT_NE(a.retry_prompt.find(". Answer again with only a JSON object {\"label\": L} where L is "
                                "one of \"positive\", \"negative\", \"1\"."),
            std::string::npos)
      << a.retry_prompt;
}

TEST(ParseAnswer, HostileReplies) {
  std::vector<std::string> labels{"a"};
  // Deep JSON is refused by the parser's depth limit, not by the stack.
  std::string deep(100000, '[');
  auto a = parse_answer("json", labels, nullptr, deep);
  ASSERT_FALSE(a.output);
  EXPECT_NE(a.error.find("deeper than 64"), std::string::npos) << a.error;
  // A huge reply is shown cut short in the retry prompt.
  std::string huge = "{\"x\": \"" + std::string(1 << 20, 'y');
  a = parse_answer("json", labels, nullptr, huge);
  ASSERT_FALSE(a.output);
  EXPECT_LT(a.retry_prompt.size(), 1000u);
  // Invalid UTF-8: refused as JSON; shown with replacement characters in the retry prompt.
  a = parse_answer("json", labels, nullptr, "{\"x\": \"\xff\"}");
  ASSERT_FALSE(a.output);
  EXPECT_NE(a.retry_prompt.find("\xef\xbf\xbd"), std::string::npos);
  a = parse_answer("labels", labels, nullptr, "\xff");
  EXPECT_FALSE(a.output);
  a = parse_answer("ranked", labels, nullptr, "x");
  EXPECT_EQ(a.error, "contract 'ranked' has no LLM answers (labels, json or text)");
  // Any object, when a json task has no schema object to check against.
  a = parse_answer("json", labels, nullptr, "{\"k\": [1, {\"z\": null}]}");
  ASSERT_TRUE(a.output);
}

TEST(ParseAnswer, RetryMessagesAppendTheReplyAndTheError) {
  std::vector<ChatMessage> messages{{"system", "s"}, {"user", "q"}};
  std::vector<std::string> labels{"a", "b"};
  auto a = parse_answer("labels", labels, nullptr, "c\xff");
  auto retry = retry_messages(messages, "c\xff", a);
  ASSERT_EQ(retry.size(), 4u);
  EXPECT_EQ(retry[2].role, "assistant");
  EXPECT_EQ(retry[2].content, "c\xef\xbf\xbd");
  EXPECT_EQ(retry[3].role, "user");
  EXPECT_EQ(retry[3].content, a.retry_prompt);
}

TEST(ParseAnswer, EstimateTokens) {
  std::vector<ChatMessage> m{{"user", "abcd"}, {"assistant", "\xc3\xa9\xc3\xa9"}};
  EXPECT_EQ(estimate_tokens(m), 2u + 8u);  // 6 characters -> 2 tokens, 4 per message
  EXPECT_EQ(estimate_tokens({}), 0u);
}

}  // namespace
}  // namespace tandem::prompts
