#pragma once
// The JSON schemas of task answers: checked once at start, then used to validate every LLM reply
// (and sent to the provider as response_format, or turned into a grammar for a local model).
//
// Supported keywords: type (a name or a list of names: object, array, string, number, integer,
// boolean, null), enum, const, properties, required, additionalProperties (true, false or a
// schema), items, minItems, maxItems, minimum, maximum, minLength, maxLength (in characters),
// pattern (RE2 syntax, matched anywhere in the string as JSON Schema says; RE2 runs in linear
// time, so a reply cannot make a pattern take exponential time), anyOf. Annotations are ignored:
// description, title, default, examples, $schema, $comment. Any other keyword is an error that
// names it and where it is, so a schema never silently promises more than is checked.
#include <boost/json/value.hpp>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "tandem/prompts/prompt_error.h"

namespace tandem::prompts {

class JsonSchema {
 public:
  // Throws PromptError, e.g. "schema: at /properties/age: unsupported keyword 'format'", or
  // "schema: not valid JSON: ..." for `parse`.
  static JsonSchema parse(std::string_view schema_json);
  static JsonSchema from_json(const boost::json::value& schema);

  // Empty when `value` matches; else one problem, with the JSON pointer of where it is:
  // "at /items/2: expected integer, got string", "at the top level: missing property \"name\"".
  std::optional<std::string> validate(const boost::json::value& value) const;

  const boost::json::value& json() const { return json_; }
  // The schema requires an object at the top (what structured-output APIs accept as a root).
  bool requires_object() const;

  struct Node;

 private:
  std::shared_ptr<const Node> root_;
  boost::json::value json_;
};

// The schema of a label-set answer: {"label": one of `labels`} and nothing else.
boost::json::value label_schema(std::span<const std::string> labels);

}  // namespace tandem::prompts
