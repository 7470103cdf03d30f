#pragma once
// A task's prompt template: Jinja, compiled once at start with llama.cpp's own engine (the one
// that renders chat templates), checked against the task's input contract, rendered per request.
//
// Variables a template may read:
//   each input field (the task's `input_fields`, default ["text"]) as a top-level variable,
//   `input`     the whole input object (optional fields: `{% if input.title %}`),
//   `examples`  the few-shot examples, a list of {input, output},
//   `labels`    the task's label set (a list of strings),
//   `schema`    the JSON schema the answer must match, as text,
//   `task`      the task's name,
// plus what the template binds itself (set, for, macro) and the engine's built-ins (range,
// namespace, raise_exception, ...). Anything else is an error at compile time naming the variable
// and its line and column, so a typo fails at start instead of rendering an empty string.
//
// An input field the template reads as a top-level variable is required: rendering without it is
// an error naming the field. Objects print as nothing in this engine: use `{{ input | tojson }}`.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/prompts/prompt_error.h"

namespace tandem::prompts {

// The names every task template may read besides the input fields.
inline constexpr std::string_view kTemplateGlobals[] = {"input", "examples", "labels", "schema",
                                                        "task"};

// What one rendering sees. The pointers must stay valid for the call.
struct TemplateContext {
  const boost::json::object* input = nullptr;    // required
  const boost::json::array* examples = nullptr;  // [{input, output}]; null: an empty list
  std::span<const std::string> labels;
  std::string_view schema;
  std::string_view task;
};

class PromptTemplate {
 public:
  // Parses `source` and checks every variable it reads. `input_fields` empty means ["text"].
  // `what` starts every error message, e.g. "task reviews, variant fast, template".
  // Throws PromptError: "<what>: line 3, column 12: unknown variable 'txt' (...)".
  static PromptTemplate compile(std::string_view source, std::span<const std::string> input_fields,
                                std::string what);

  // The context names (input fields and the globals above) the template reads, sorted.
  const std::vector<std::string>& references() const;
  bool references(std::string_view name) const;
  const std::string& what() const;

  // Renders; throws PromptError for a missing input field, input nested too deeply, or an error
  // the template raises while running (with its line and column). Thread-safe.
  std::string render(const TemplateContext& context) const;

 private:
  struct State;
  explicit PromptTemplate(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

// "line L, column C" of byte offset `pos` in `source` (both 1-based; columns count bytes).
std::string line_column(std::string_view source, std::size_t pos);

}  // namespace tandem::prompts
