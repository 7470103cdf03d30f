#include "tandem/prompts/json_schema.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <string>

namespace tandem::prompts {
namespace {

std::string schema_error(std::string_view text) {
  try {
    JsonSchema::parse(text);
  } catch (const PromptError& e) {
    return e.what();
  }
  return "";
}

std::string check(std::string_view schema, std::string_view value) {
  auto s = JsonSchema::parse(schema);
  auto e = s.validate(boost::json::parse(value));
  return e ? *e : "ok";
}

constexpr std::string_view kPerson = R"({
  "type": "object", "title": "person", "description": "ignored",
  "properties": {
    "name": {"type": "string", "minLength": 1, "maxLength": 5},
    "age": {"type": "integer", "minimum": 0, "maximum": 150},
    "tags": {"type": "array", "items": {"type": "string", "pattern": "^[a-z]+$"},
             "minItems": 1, "maxItems": 2},
    "kind": {"enum": ["a", "b", 3]},
    "version": {"const": 2},
    "a/b": {"type": "null"},
    "either": {"anyOf": [{"type": "string"}, {"type": "number", "minimum": 10}]}
  },
  "required": ["name"],
  "additionalProperties": false
})";

TEST(JsonSchema, AcceptsValidValues) {
  EXPECT_EQ(check(kPerson, R"({"name": "ann"})"), "ok");
  EXPECT_EQ(check(kPerson, R"({"name": "ann", "age": 30, "tags": ["x", "yz"], "kind": 3,
                                "version": 2.0, "a/b": null, "either": 11})"),
            "ok");
  EXPECT_EQ(check(kPerson, R"({"name": "héé", "age": 3.0})"), "ok");  // 3 characters; 3.0 is int
  EXPECT_EQ(check(R"({"type": ["string", "null"]})", "null"), "ok");
  EXPECT_EQ(check("true", R"({"x": 1})"), "ok");
  EXPECT_EQ(check(R"({"type":"object","additionalProperties":{"type":"integer"}})",
                  R"({"a": 1, "b": 2})"),
            "ok");
  EXPECT_EQ(check(R"({"type": "number"})", "1"), "ok");
}

TEST(JsonSchema, ErrorsNameThePointerAndWhatWasExpected) {
  EXPECT_EQ(check(kPerson, R"({})"), "at the top level: missing property \"name\"");
  EXPECT_EQ(check(kPerson, R"([])"), "at the top level: expected object, got array");
  EXPECT_EQ(check(kPerson, R"({"name": 5})"), "at /name: expected string, got integer");
  EXPECT_EQ(check(kPerson, R"({"name": ""})"), "at /name: expected at least 1 characters, got 0");
  EXPECT_EQ(check(kPerson, R"({"name": "abcdef"})"),
            "at /name: expected at most 5 characters, got 6");
  EXPECT_EQ(check(kPerson, R"({"name": "a", "age": 1.5})"),
            "at /age: expected integer, got number");
  EXPECT_EQ(check(kPerson, R"({"name": "a", "age": -1})"),
            "at /age: expected a number >= 0, got -1");
  EXPECT_EQ(check(kPerson, R"({"name": "a", "age": 200})"),
            "at /age: expected a number <= 150, got 200");
  EXPECT_EQ(check(kPerson, R"({"name": "a", "tags": []})"),
            "at /tags: expected at least 1 items, got 0");
  EXPECT_EQ(check(kPerson, R"({"name": "a", "tags": ["a", "b", "c"]})"),
            "at /tags: expected at most 2 items, got 3");
  EXPECT_EQ(check(kPerson, R"({"name": "a", "tags": ["ok", "No"]})"),
            "at /tags/1: expected a string matching /^[a-z]+$/, got \"No\"");
  EXPECT_EQ(check(kPerson, R"({"name": "a", "kind": "c"})"),
            "at /kind: expected one of \"a\", \"b\", 3, got \"c\"");
  EXPECT_EQ(check(kPerson, R"({"name": "a", "version": 1})"), "at /version: expected 2, got 1");
  EXPECT_EQ(check(kPerson, R"({"name": "a", "a/b": 1})"), "at /a~1b: expected null, got integer");
  EXPECT_EQ(check(kPerson, R"({"name": "a", "extra": 1})"),
            "at the top level: property \"extra\" is not allowed");
  EXPECT_EQ(check(kPerson, R"({"name": "a", "either": 5})"),
            "at /either: matches none of the 2 choices of anyOf (the first: at /either: "
            "expected string, got integer)");
  EXPECT_EQ(check("false", "1"), "at the top level: no value is allowed here");
  EXPECT_EQ(
      check(R"({"type":"object","additionalProperties":{"type":"integer"}})", R"({"a": "x"})"),
      "at /a: expected integer, got string");
}

TEST(JsonSchema, LongValuesAreCutInMessages) {
  std::string value = "\"" + std::string(100, 'z') + "\"";
  std::string e = check(R"({"enum": ["a"]})", value);
  EXPECT_EQ(e, "at the top level: expected one of \"a\", got \"" + std::string(59, 'z') + "...");
}

TEST(JsonSchema, SchemaErrorsNameKeywordAndPath) {
  EXPECT_EQ(schema_error(R"({"type": "object", "properties": {"age": {"format": "int32"}}})"),
            "schema: at /properties/age: unsupported keyword 'format'");
  EXPECT_EQ(schema_error(R"({"type": "int"})"),
            "schema: at the top level: unknown type 'int' (object, array, string, number, "
            "integer, boolean, null)");
  EXPECT_EQ(schema_error(R"({"type": 3})"),
            "schema: at the top level: 'type' must be a type name or a list of them");
  EXPECT_EQ(schema_error(R"({"type": []})"),
            "schema: at the top level: 'type' must not be an empty list");
  EXPECT_EQ(schema_error(R"({"enum": []})"),
            "schema: at the top level: 'enum' must be a non-empty list");
  EXPECT_EQ(schema_error(R"({"required": [1]})"),
            "schema: at the top level: 'required' must be a list of property names");
  EXPECT_EQ(schema_error(R"({"properties": []})"),
            "schema: at the top level: 'properties' must be an object");
  EXPECT_EQ(schema_error(R"({"items": [{}]})"),
            "schema: at the top level: 'items' must be one schema (not a list)");
  EXPECT_EQ(schema_error(R"({"minItems": -1})"),
            "schema: at the top level: 'minItems' must be a non-negative integer");
  EXPECT_EQ(schema_error(R"({"minLength": 1.5})"),
            "schema: at the top level: 'minLength' must be a non-negative integer");
  EXPECT_EQ(schema_error(R"({"minItems": 3, "maxItems": 2})"),
            "schema: at the top level: 'minItems' is larger than 'maxItems'");
  EXPECT_EQ(schema_error(R"({"minimum": "0"})"),
            "schema: at the top level: 'minimum' must be a number");
  EXPECT_EQ(schema_error(R"({"anyOf": {}})"),
            "schema: at the top level: 'anyOf' must be a non-empty list");
  EXPECT_EQ(schema_error(R"({"anyOf": [{"type": "string"}, {"oneOf": []}]})"),
            "schema: at /anyOf/1: unsupported keyword 'oneOf'");
  EXPECT_EQ(schema_error(R"({"items": {"$ref": "#"}})"),
            "schema: at /items: unsupported keyword '$ref'");
  EXPECT_EQ(schema_error("3"), "schema: at the top level: a schema must be an object or a boolean");
  EXPECT_EQ(schema_error("{"),
            "schema: not valid JSON: malformed JSON at offset 1: incomplete JSON");
  // Backreferences and lookarounds are not RE2: refused at start.
  std::string e = schema_error(R"({"pattern": "(a)\\1"})");
  EXPECT_EQ(e.rfind("schema: at the top level: 'pattern' is not a valid RE2 pattern: ", 0), 0u)
      << e;
  EXPECT_NE(schema_error(R"x({"pattern": "(?=a)"})x").find("not a valid RE2 pattern"),
            std::string::npos);
}

TEST(JsonSchema, DeepSchemasAndValuesAreBounded) {
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += R"({"items": )";
  deep += "{}";
  for (int i = 0; i < 40; ++i) deep += "}";
  EXPECT_NE(schema_error(deep).find("nested more than 32 levels deep"), std::string::npos);
  std::string very_deep(100000, '[');
  EXPECT_EQ(schema_error(very_deep).rfind("schema: not valid JSON: ", 0), 0u);

  // A deep value against a shallow schema is not walked further than the schema goes.
  boost::json::value v = boost::json::array{};
  for (int i = 0; i < 10000; ++i) v = boost::json::array{std::move(v)};
  EXPECT_FALSE(JsonSchema::parse(R"({"type": "array"})").validate(v));
}

TEST(JsonSchema, PatternsRunInLinearTime) {
  // (a+)+$ is catastrophic for backtracking engines; RE2 answers at once.
  auto s = JsonSchema::parse(R"({"type": "string", "pattern": "^(a+)+$"})");
  std::string hostile = "\"" + std::string(50000, 'a') + "!\"";
  auto e = s.validate(boost::json::parse(hostile));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->rfind("at the top level: expected a string matching /^(a+)+$/", 0), 0u);
}

TEST(JsonSchema, LabelSchema) {
  std::vector<std::string> labels{"pos", "neg"};
  auto v = label_schema(labels);
  EXPECT_EQ(boost::json::serialize(v),
            R"({"type":"object","properties":{"label":{"type":"string","enum":["pos","neg"]}},)"
            R"("required":["label"],"additionalProperties":false})");
  auto s = JsonSchema::from_json(v);
  EXPECT_TRUE(s.requires_object());
  EXPECT_FALSE(s.validate(boost::json::parse(R"({"label": "pos"})")));
  EXPECT_EQ(*s.validate(boost::json::parse(R"({"label": "maybe"})")),
            "at /label: expected one of \"pos\", \"neg\", got \"maybe\"");
  EXPECT_EQ(*s.validate(boost::json::parse(R"({"label": "pos", "why": 1})")),
            "at the top level: property \"why\" is not allowed");
  EXPECT_FALSE(JsonSchema::parse(R"({"type": ["object", "null"]})").requires_object());
}

}  // namespace
}  // namespace tandem::prompts
