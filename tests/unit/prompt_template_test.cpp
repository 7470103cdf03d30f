#include "tandem/prompts/prompt_template.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <string>
#include <thread>
#include <vector>

namespace tandem::prompts {
namespace {

using boost::json::object;

std::string error_of(std::string_view source, std::vector<std::string> fields = {}) {
  try {
    PromptTemplate::compile(source, fields, "tmpl");
  } catch (const PromptError& e) {
    return e.what();
  }
  return "";
}

std::string render(std::string_view source, const object& input,
                   std::vector<std::string> fields = {}) {
  auto t = PromptTemplate::compile(source, fields, "tmpl");
  TemplateContext c;
  c.input = &input;
  return t.render(c);
}

TEST(PromptTemplate, RendersFieldsLoopsAndConditionals) {
  auto t = PromptTemplate::compile(
      // Like Hugging Face chat templates, a block tag eats the newline after it (trim_blocks).
      "Task {{ task }}. Labels:{% for l in labels %} {{ l }}{% endfor %}\n\n"
      "{% if title %}Title: {{ title | upper }}\n{% endif %}Text: {{ text }}",
      std::vector<std::string>{"text", "title"}, "tmpl");
  object input{{"text", "great value"}, {"title", "ok"}};
  std::vector<std::string> labels{"positive", "negative"};
  TemplateContext c;
  c.input = &input;
  c.labels = labels;
  c.task = "reviews";
  EXPECT_EQ(t.render(c), "Task reviews. Labels: positive negative\nTitle: OK\nText: great value");
  EXPECT_EQ(t.references(), (std::vector<std::string>{"labels", "task", "text", "title"}));
  EXPECT_TRUE(t.references("title"));
  EXPECT_FALSE(t.references("examples"));
}

TEST(PromptTemplate, ExamplesInputAndSchemaVariables) {
  auto t = PromptTemplate::compile(
      "{% for e in examples %}{{ e.input.text }} => {{ e.output }}\n{% endfor %}"
      "{{ input.text }} ({{ input | tojson }}) {{ schema }}",
      {}, "tmpl");
  object input{{"text", "q"}};
  boost::json::array examples{object{{"input", object{{"text", "a"}}}, {"output", "x"}},
                              object{{"input", object{{"text", "b"}}}, {"output", "y"}}};
  TemplateContext c;
  c.input = &input;
  c.examples = &examples;
  c.schema = "{}";
  EXPECT_EQ(t.render(c), "a => x\nb => y\nq ({\"text\": \"q\"}) {}");
  EXPECT_TRUE(t.references("examples"));
  EXPECT_TRUE(t.references("input"));
  EXPECT_FALSE(t.references("text"));  // read through `input`, so not required
}

TEST(PromptTemplate, LocalNamesAndBuiltinsAreKnown) {
  EXPECT_EQ(render("{% set n = 2 %}{% for i in range(n) %}{{ loop.index }}{{ i }}{% endfor %}"
                   "{% macro m(a, b=text) %}[{{ a }}{{ b }}]{% endmacro %}{{ m('x') }}"
                   "{% set ns = namespace(c=0) %}{% set ns.c = 5 %}{{ ns.c }}"
                   "{% for k, v in input.items() %}{{ k }}={{ v }}{% endfor %}",
                   object{{"text", "t"}}),
            "1021[xt]5text=t");
}

TEST(PromptTemplate, UnknownVariableIsNamedWithLineAndColumn) {
  EXPECT_EQ(error_of("Hello\n  {{ txt }}"),
            "tmpl: line 2, column 6: unknown variable 'txt' (a template may use the input "
            "fields text, and input, examples, labels, schema, task)");
  EXPECT_EQ(error_of("{{ title }}", {"text", "body"}),
            "tmpl: line 1, column 4: unknown variable 'title' (a template may use the input "
            "fields text, body, and input, examples, labels, schema, task)");
  // A loop variable is not visible after its loop; a macro parameter not outside its macro.
  EXPECT_NE(error_of("{% for x in labels %}{% endfor %}{{ x }}").find("unknown variable 'x'"),
            std::string::npos);
  EXPECT_NE(error_of("{% macro m(p) %}{% endmacro %}{{ p }}").find("unknown variable 'p'"),
            std::string::npos);
  // Used before it is set.
  EXPECT_NE(error_of("{{ y }}{% set y = 1 %}").find("unknown variable 'y'"), std::string::npos);
  // Inside filters' arguments, tests, literals and conditions too.
  EXPECT_NE(error_of("{{ text | replace(a, 'b') }}").find("unknown variable 'a'"),
            std::string::npos);
  EXPECT_NE(error_of("{% if text is sameas(zz) %}{% endif %}").find("'zz'"), std::string::npos);
  EXPECT_NE(error_of("{{ [1, qq] }}").find("'qq'"), std::string::npos);
  EXPECT_NE(error_of("{{ {'k': kk} }}").find("'kk'"), std::string::npos);
}

TEST(PromptTemplate, SyntaxErrorsHaveLineAndColumn) {
  std::string e = error_of("line one\n{{ text }\n");
  EXPECT_EQ(e.rfind("tmpl: line 2, column", 0), 0u) << e;
  EXPECT_NE(e.find("Expected }}"), std::string::npos) << e;

  EXPECT_EQ(error_of("a\n  {% for x in labels %}{{ x }}"),
            "tmpl: line 2, column 3: {% for %} is never closed (no {% endfor %})");
  EXPECT_EQ(error_of("{% if text %}\n{% endfor %}"),
            "tmpl: line 2, column 1: {% endfor %} closes {% if %} of line 1, column 1");
  EXPECT_EQ(error_of("x {% endif %}"), "tmpl: line 1, column 3: {% endif %} closes no open block");
  EXPECT_EQ(error_of("{% set x %}a{% endset %}{{ x }}"), "");
  EXPECT_EQ(error_of("ok\n{% if %}{% endif %}").rfind("tmpl: line 2, column 1: ", 0), 0u);

  // Far into a long template: the position is found through the engine's source window.
  std::string long_source(200, 'a');
  long_source += "\nsecond line {{ text + }}";
  e = error_of(long_source);
  EXPECT_EQ(e.rfind("tmpl: line 2, column", 0), 0u) << e;

  e = error_of("{{ 'unterminated }}");
  EXPECT_EQ(e.rfind("tmpl: ", 0), 0u) << e;
  EXPECT_EQ(error_of("{% frobnicate %}").rfind("tmpl: ", 0), 0u);
}

TEST(PromptTemplate, FieldNamedLikeAGlobalIsRefused) {
  EXPECT_EQ(error_of("{{ text }}", {"text", "labels"}),
            "tmpl: input field 'labels' has the name of a template variable (input, examples, "
            "labels, schema, task); rename the field");
}

TEST(PromptTemplate, TooDeepOrTooLargeTemplatesAreRefused) {
  std::string deep = "{{ " + std::string(100, '(') + "1" + std::string(100, ')') + " }}";
  EXPECT_EQ(error_of(deep), "tmpl: line 1, column 68: nested more than 64 levels deep");
  std::string blocks;
  for (int i = 0; i < 70; ++i) blocks += "{% if text %}";
  EXPECT_NE(error_of(blocks).find("nested more than 64 levels deep"), std::string::npos);
  EXPECT_EQ(error_of(std::string((1 << 20) + 1, 'x')), "tmpl: longer than 1048576 bytes");
}

TEST(PromptTemplate, MissingFieldIsARenderError) {
  auto t = PromptTemplate::compile("{{ text }} {{ title }}",
                                   std::vector<std::string>{"text", "title"}, "tmpl");
  object input{{"text", "x"}};
  TemplateContext c;
  c.input = &input;
  try {
    t.render(c);
    FAIL() << "rendered without a field it uses";
  } catch (const PromptError& e) {
    EXPECT_STREQ(e.what(), "tmpl: the input has no field 'title', which the template uses");
  }
  // Optional fields go through `input`.
  EXPECT_EQ(render("{% if input.title %}T{% else %}none{% endif %}", object{{"text", "x"}}),
            "none");
}

TEST(PromptTemplate, RuntimeErrorsAreClearNotCrashes) {
  try {
    render("ok\n{{ raise_exception('bad input: ' + text) }}", object{{"text", "x"}});
    FAIL();
  } catch (const PromptError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("tmpl: line 2, column", 0), 0u) << e.what();
    EXPECT_NE(std::string(e.what()).find("bad input: x"), std::string::npos) << e.what();
  }
  // Arithmetic on a string, an unknown filter: errors, not crashes.
  EXPECT_THROW(render("{{ text - 1 }}", object{{"text", "x"}}), PromptError);
  EXPECT_THROW(render("{{ text | no_such_filter }}", object{{"text", "x"}}), PromptError);
}

TEST(PromptTemplate, HostileInput) {
  // Huge strings and invalid UTF-8 are data, never template syntax.
  std::string huge(1 << 20, 'y');
  EXPECT_EQ(render("{{ text | length }}", object{{"text", huge}}), "1048576");
  EXPECT_EQ(render("[{{ text }}]", object{{"text", "{{ text }}{% endfor %}"}}),
            "[{{ text }}{% endfor %}]");
  EXPECT_EQ(render("{{ text }}", object{{"text", "\xff\xfe"}}), "\xff\xfe");
  // Deeply nested input is refused instead of recursing without bound.
  boost::json::value deep = boost::json::array{};
  for (int i = 0; i < 100; ++i) deep = boost::json::array{deep};
  try {
    render("{{ text }}", object{{"text", deep}});
    FAIL();
  } catch (const PromptError& e) {
    EXPECT_STREQ(e.what(), "the input is nested more than 64 levels deep");
  }
  // Numbers and other kinds render as Jinja prints them.
  EXPECT_EQ(render("{{ text }} {{ input.n }} {{ input.b }}",
                   object{{"text", 3}, {"n", 18446744073709551615ull}, {"b", true}}),
            "3 18446744073709551616.0 True");
}

TEST(PromptTemplate, RendersConcurrently) {
  auto t = PromptTemplate::compile(
      "{% filter upper %}{{ text }}{% endfilter %}{% for l in labels %}{{ l }}{% endfor %}", {},
      "tmpl");
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      object input{{"text", "t" + std::to_string(i)}};
      TemplateContext c;
      c.input = &input;
      for (int n = 0; n < 200; ++n) ok[i] += t.render(c) == "T" + std::to_string(i);
    });
  }
  for (auto& th : threads) th.join();
  for (int v : ok) EXPECT_EQ(v, 200);
}

TEST(PromptTemplate, LineColumnCountsCharacters) {
  EXPECT_EQ(line_column("ab\ncd", 4), "line 2, column 2");
  EXPECT_EQ(line_column("\xc3\xa9x", 2), "line 1, column 2");  // "é" is one character
  EXPECT_EQ(line_column("", 0), "line 1, column 1");
}

}  // namespace
}  // namespace tandem::prompts
