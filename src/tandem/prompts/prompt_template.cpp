#include "tandem/prompts/prompt_template.h"

// llama.cpp's Jinja engine (libllama-common). Its headers define a few unused static helpers.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include <jinja/lexer.h>
#include <jinja/parser.h>
#include <jinja/runtime.h>
#include <jinja/value.h>
#pragma GCC diagnostic pop

#include <algorithm>
#include <boost/json/value.hpp>
#include <cstdint>
#include <exception>
#include <limits>
#include <mutex>
#include <set>

namespace tandem::prompts {

namespace {

// Templates come from the config, but the engine's parser recurses once per nesting level:
// bound the size and nesting so a broken config file fails with a message, not a stack overflow.
constexpr std::size_t kMaxTemplateBytes = 1 << 20;
constexpr int kMaxTemplateNesting = 64;
// Input values are converted recursively; the gateway already refuses deeper JSON bodies.
constexpr int kMaxInputDepth = 64;

// Offset of the problem in an engine error message. Lexer and parser errors carry no offset,
// only a window of the source around it ("...<80 chars>...\n<spaces>^", see peak_source in
// jinja/utils.h): the caret's column gives the offset when the window starts at 0, else the
// window is found in the source and the offset is 40 characters into it.
std::optional<std::size_t> offset_from_window(std::string_view source, std::string_view message) {
  std::size_t caret_start = message.rfind('\n');
  if (caret_start == std::string_view::npos) return std::nullopt;
  std::string_view caret = message.substr(caret_start + 1);
  if (caret.empty() || caret.back() != '^' || caret.find_first_not_of(' ') != caret.size() - 1 ||
      caret.size() < 4) {
    return std::nullopt;
  }
  std::size_t column = caret.size() - 1 - 3;  // the window is printed after "..."
  if (column < 40) return column;
  std::size_t window_start = message.rfind('\n', caret_start - 1);
  if (window_start == std::string_view::npos) return std::nullopt;
  std::string_view window = message.substr(window_start + 1, caret_start - window_start - 1);
  if (window.size() < 6 || !window.starts_with("...") || !window.ends_with("...")) {
    return std::nullopt;
  }
  std::string text(window.substr(3, window.size() - 6));
  const std::string arrow = "\xe2\x86\xb5";  // "↵", how the window shows a newline
  for (std::size_t p = text.find(arrow); p != std::string::npos; p = text.find(arrow, p + 1)) {
    text.replace(p, arrow.size(), "\n");
  }
  std::size_t found = source.find(text);
  if (found == std::string_view::npos) return std::nullopt;
  return found + 40;
}

// The first line of an engine error without its "lexer: "/"parser: " tag.
std::string first_line(std::string_view message) {
  std::string_view line = message.substr(0, message.find('\n'));
  for (std::string_view tag : {"lexer: ", "parser: "}) {
    if (line.starts_with(tag)) line.remove_prefix(tag.size());
  }
  return std::string(line);
}

// A runtime error of the engine reads "...While executing X at line L, column C in source:
// <window> Error: <what>": keep the location and the innermost message.
std::string runtime_message(std::string_view message) {
  std::string out;
  std::size_t at = message.rfind(" at line ");
  if (at != std::string_view::npos) {
    std::size_t end = message.find(" in source", at);
    if (end != std::string_view::npos) out = std::string(message.substr(at + 4, end - at - 4));
  }
  std::size_t err = message.rfind("Error: ");
  std::string_view what = err == std::string_view::npos ? message : message.substr(err + 7);
  while (!what.empty() && (what.front() == '\n' || what.front() == ' ')) what.remove_prefix(1);
  return out.empty() ? std::string(what) : out + ": " + std::string(what);
}

// Input fields become top-level variables, so they must not hide the globals.
std::vector<std::string> checked_fields(std::span<const std::string> fields,
                                        const std::string& what) {
  std::vector<std::string> out(fields.begin(), fields.end());
  if (out.empty()) out.push_back("text");
  for (const auto& f : out) {
    for (std::string_view g : kTemplateGlobals) {
      if (f == g) {
        throw PromptError(what + ": input field '" + f +
                          "' has the name of a template variable (input, examples, labels, "
                          "schema, task); rename the field");
      }
    }
  }
  return out;
}

// Walks the syntax tree the way the engine evaluates it, with the scopes Jinja gives loops and
// macros, and checks every variable read against what the context will hold.
class VariableChecker {
 public:
  VariableChecker(std::string_view source, const std::vector<std::string>& fields,
                  const std::string& what)
      : source_(source), what_(what) {
    for (const auto& f : fields) allowed_.insert(f);
    for (std::string_view g : kTemplateGlobals) allowed_.insert(std::string(g));
    for (const char* c : {"true", "false", "none", "True", "False", "None"}) constants_.insert(c);
    for (const auto& [name, fn] : jinja::global_builtins()) {
      if (!name.starts_with("test_is_")) constants_.insert(name);
    }
    scopes_.emplace_back();
    fields_hint_ = " the input fields";
    for (std::size_t i = 0; i < fields.size(); ++i) fields_hint_ += (i ? ", " : " ") + fields[i];
  }

  void check(const jinja::program& program) { block(program.body); }
  std::vector<std::string> references() const { return {used_.begin(), used_.end()}; }

 private:
  using Node = jinja::statement;

  void block(const jinja::statements& body) {
    for (const auto& s : body) node(s.get());
  }
  void bind(const std::string& name) { scopes_.back().insert(name); }
  void bind_target(const Node* target) {
    if (const auto* id = dynamic_cast<const jinja::identifier*>(target)) {
      bind(id->val);
    } else if (const auto* tuple = dynamic_cast<const jinja::tuple_literal*>(target)) {
      for (const auto& item : tuple->val) bind_target(item.get());
    } else if (const auto* member = dynamic_cast<const jinja::member_expression*>(target)) {
      node(member->object.get());  // `ns.count = ...` reads ns
    }
  }
  void use(const jinja::identifier& id) {
    for (const auto& scope : scopes_) {
      if (scope.contains(id.val)) return;
    }
    if (allowed_.contains(id.val)) {
      used_.insert(id.val);
      return;
    }
    if (constants_.contains(id.val)) return;
    throw PromptError(what_ + ": " + line_column(source_, id.pos) + ": unknown variable '" +
                      id.val + "' (a template may use" + fields_hint_ +
                      ", and input, examples, labels, schema, task)");
  }
  // A filter or test is a name, not a variable; only its arguments are read.
  void filter_or_test(const Node* f) {
    if (const auto* call = dynamic_cast<const jinja::call_expression*>(f)) {
      for (const auto& a : call->args) node(a.get());
    }
  }

  void node(const Node* n) {
    if (n == nullptr) return;
    using namespace jinja;
    if (const auto* id = dynamic_cast<const identifier*>(n)) {
      use(*id);
    } else if (dynamic_cast<const string_literal*>(n) || dynamic_cast<const integer_literal*>(n) ||
               dynamic_cast<const float_literal*>(n) || dynamic_cast<const comment_statement*>(n) ||
               dynamic_cast<const noop_statement*>(n) || dynamic_cast<const break_statement*>(n) ||
               dynamic_cast<const continue_statement*>(n) ||
               dynamic_cast<const blank_expression*>(n)) {
    } else if (const auto* s = dynamic_cast<const if_statement*>(n)) {
      node(s->test.get());
      block(s->body);
      block(s->alternate);
    } else if (const auto* s = dynamic_cast<const for_statement*>(n)) {
      const auto* select = dynamic_cast<const select_expression*>(s->iterable.get());
      node(select ? select->lhs.get() : s->iterable.get());
      scopes_.emplace_back();
      bind_target(s->loopvar.get());
      bind("loop");
      if (select) node(select->test.get());
      block(s->body);
      scopes_.pop_back();
      block(s->default_block);
    } else if (const auto* s = dynamic_cast<const set_statement*>(n)) {
      node(s->val.get());
      if (!s->body.empty()) block(s->body);
      bind_target(s->assignee.get());
    } else if (const auto* s = dynamic_cast<const macro_statement*>(n)) {
      bind_target(s->name.get());
      // Defaults are evaluated where the macro is defined, parameters bind inside it.
      for (const auto& a : s->args) {
        if (const auto* kw = dynamic_cast<const keyword_argument_expression*>(a.get())) {
          node(kw->val.get());
        }
      }
      scopes_.emplace_back();
      for (const auto& a : s->args) {
        const auto* kw = dynamic_cast<const keyword_argument_expression*>(a.get());
        bind_target(kw ? kw->key.get() : a.get());
      }
      bind("caller");
      bind("varargs");
      bind("kwargs");
      block(s->body);
      scopes_.pop_back();
    } else if (const auto* s = dynamic_cast<const call_statement*>(n)) {
      node(s->call.get());
      scopes_.emplace_back();
      for (const auto& a : s->caller_args) bind_target(a.get());
      block(s->body);
      scopes_.pop_back();
    } else if (const auto* s = dynamic_cast<const filter_statement*>(n)) {
      filter_or_test(s->filter.get());
      block(s->body);
    } else if (const auto* e = dynamic_cast<const member_expression*>(n)) {
      node(e->object.get());
      if (e->computed) node(e->property.get());
    } else if (const auto* e = dynamic_cast<const slice_expression*>(n)) {
      node(e->start_expr.get());
      node(e->stop_expr.get());
      node(e->step_expr.get());
    } else if (const auto* e = dynamic_cast<const call_expression*>(n)) {
      node(e->callee.get());
      for (const auto& a : e->args) node(a.get());
    } else if (const auto* e = dynamic_cast<const array_literal*>(n)) {
      for (const auto& v : e->val) node(v.get());
    } else if (const auto* e = dynamic_cast<const tuple_literal*>(n)) {
      for (const auto& v : e->val) node(v.get());
    } else if (const auto* e = dynamic_cast<const object_literal*>(n)) {
      for (const auto& [k, v] : e->val) {
        node(k.get());
        node(v.get());
      }
    } else if (const auto* e = dynamic_cast<const binary_expression*>(n)) {
      node(e->left.get());
      node(e->right.get());
    } else if (const auto* e = dynamic_cast<const filter_expression*>(n)) {
      node(e->operand.get());
      filter_or_test(e->filter.get());
    } else if (const auto* e = dynamic_cast<const select_expression*>(n)) {
      node(e->lhs.get());
      node(e->test.get());
    } else if (const auto* e = dynamic_cast<const test_expression*>(n)) {
      node(e->operand.get());
      filter_or_test(e->test.get());
    } else if (const auto* e = dynamic_cast<const unary_expression*>(n)) {
      node(e->argument.get());
    } else if (const auto* e = dynamic_cast<const keyword_argument_expression*>(n)) {
      node(e->val.get());
    } else if (const auto* e = dynamic_cast<const spread_expression*>(n)) {
      node(e->argument.get());
    } else if (const auto* e = dynamic_cast<const ternary_expression*>(n)) {
      node(e->condition.get());
      node(e->true_expr.get());
      node(e->false_expr.get());
    } else {
      // A construct this checker does not know could read variables it cannot see.
      throw PromptError(what_ + ": " + line_column(source_, n->pos) + ": unsupported construct " +
                        n->type());
    }
  }

  std::string_view source_;
  const std::string& what_;
  std::set<std::string, std::less<>> allowed_;
  std::set<std::string, std::less<>> constants_;
  std::vector<std::set<std::string, std::less<>>> scopes_;
  std::set<std::string> used_;
  std::string fields_hint_;
};

// Structure, from the tokens, before the recursive parser sees them: nesting depth (the parser
// recurses once per level), and blocks that are never closed or closed by the wrong tag (the
// parser reports those without a position).
void check_structure(const std::vector<jinja::token>& tokens, std::string_view source,
                     const std::string& what) {
  int brackets = 0;
  struct Open {
    std::string keyword;
    std::size_t pos;
  };
  std::vector<Open> blocks;
  auto fail = [&](std::size_t pos, const std::string& message) {
    throw PromptError(what + ": " + line_column(source, pos) + ": " + message);
  };
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const auto& t = tokens[i];
    switch (t.t) {
      case jinja::token::open_paren:
      case jinja::token::open_square_bracket:
      case jinja::token::open_curly_bracket:
        ++brackets;
        break;
      case jinja::token::close_paren:
      case jinja::token::close_square_bracket:
      case jinja::token::close_curly_bracket:
        --brackets;
        break;
      case jinja::token::open_statement: {
        if (i + 1 >= tokens.size() || tokens[i + 1].t != jinja::token::identifier) break;
        const std::string& k = tokens[i + 1].value;
        bool opens = k == "if" || k == "for" || k == "macro" || k == "call" || k == "filter";
        if (k == "set") {  // {% set x %}...{% endset %} is a block; {% set x = 1 %} is not
          opens = true;
          for (std::size_t j = i + 2; j < tokens.size(); ++j) {
            if (tokens[j].t == jinja::token::close_statement) break;
            if (tokens[j].t == jinja::token::equals) opens = false;
          }
        }
        if (opens) {
          blocks.push_back({k, t.pos});
        } else if (k.starts_with("end") && k != "endgeneration") {
          std::string opened = k.substr(3);
          if (blocks.empty()) fail(t.pos, "{% " + k + " %} closes no open block");
          if (blocks.back().keyword != opened) {
            fail(t.pos, "{% " + k + " %} closes {% " + blocks.back().keyword + " %} of " +
                            line_column(source, blocks.back().pos));
          }
          blocks.pop_back();
        }
        break;
      }
      default:
        break;
    }
    if (brackets > kMaxTemplateNesting || static_cast<int>(blocks.size()) > kMaxTemplateNesting) {
      fail(t.pos, "nested more than " + std::to_string(kMaxTemplateNesting) + " levels deep");
    }
  }
  if (!blocks.empty()) {
    fail(blocks.back().pos, "{% " + blocks.back().keyword + " %} is never closed (no {% end" +
                                blocks.back().keyword + " %})");
  }
}

// Where a parser error without a position is: the first {{ expression }} or {% if/elif test %}
// that does not parse on its own.
std::optional<std::size_t> failing_tag(const jinja::lexer_result& lexed) {
  const auto& tokens = lexed.tokens;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    bool expression = tokens[i].t == jinja::token::open_expression;
    bool test = tokens[i].t == jinja::token::open_statement && i + 1 < tokens.size() &&
                tokens[i + 1].t == jinja::token::identifier &&
                (tokens[i + 1].value == "if" || tokens[i + 1].value == "elif");
    if (!expression && !test) continue;
    auto close = expression ? jinja::token::close_expression : jinja::token::close_statement;
    jinja::lexer_result one;
    one.source = lexed.source;
    one.tokens.push_back({jinja::token::open_expression, "{{", tokens[i].pos});
    std::size_t j = i + (expression ? 1 : 2);
    for (; j < tokens.size() && tokens[j].t != close; ++j) one.tokens.push_back(tokens[j]);
    one.tokens.push_back({jinja::token::close_expression, "}}",
                          j < tokens.size() ? tokens[j].pos : lexed.source.size()});
    try {
      jinja::parse_from_tokens(one);
    } catch (const std::exception&) {
      return tokens[i].pos;
    }
    i = j;
  }
  return std::nullopt;
}

jinja::value to_jinja(const boost::json::value& v, int depth, const char* where) {
  if (depth > kMaxInputDepth) {
    throw PromptError(std::string(where) + " is nested more than " +
                      std::to_string(kMaxInputDepth) + " levels deep");
  }
  switch (v.kind()) {
    case boost::json::kind::null:
      return jinja::mk_val<jinja::value_none>();
    case boost::json::kind::bool_:
      return jinja::mk_val<jinja::value_bool>(v.get_bool());
    case boost::json::kind::int64:
      return jinja::mk_val<jinja::value_int>(v.get_int64());
    case boost::json::kind::uint64: {
      std::uint64_t u = v.get_uint64();
      if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return jinja::mk_val<jinja::value_int>(static_cast<std::int64_t>(u));
      }
      return jinja::mk_val<jinja::value_float>(static_cast<double>(u));
    }
    case boost::json::kind::double_:
      return jinja::mk_val<jinja::value_float>(v.get_double());
    case boost::json::kind::string: {
      // Marked as user input: the engine keeps the mark through filters (data provenance).
      auto s = jinja::mk_val<jinja::value_string>(std::string(v.get_string()));
      s->mark_input();
      return s;
    }
    case boost::json::kind::array: {
      auto a = jinja::mk_val<jinja::value_array>();
      for (const auto& item : v.get_array()) a->push_back(to_jinja(item, depth + 1, where));
      return a;
    }
    case boost::json::kind::object: {
      auto o = jinja::mk_val<jinja::value_object>();
      for (const auto& [key, item] : v.get_object()) {
        o->insert(std::string(key), to_jinja(item, depth + 1, where));
      }
      return o;
    }
  }
  return jinja::mk_val<jinja::value_none>();
}

}  // namespace

std::string line_column(std::string_view source, std::size_t pos) {
  std::size_t line = 1;
  std::size_t column = 1;
  for (std::size_t i = 0; i < pos && i < source.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(source[i]);
    if (c == '\n') {
      ++line;
      column = 1;
    } else if ((c & 0xC0) != 0x80) {  // count characters, not UTF-8 continuation bytes
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

struct PromptTemplate::State {
  std::string what;
  std::string source;
  std::vector<std::string> fields;
  std::vector<std::string> references;
  std::vector<std::string> required_fields;  // input fields read as top-level variables
  // The engine mutates some nodes while it runs them (a {% filter %} block moves its filter out
  // and back), so one program is never run by two threads at once. Renders take microseconds.
  mutable std::mutex run;
  mutable jinja::program program;
};

PromptTemplate::PromptTemplate(std::shared_ptr<State> state) : state_(std::move(state)) {}

PromptTemplate PromptTemplate::compile(std::string_view source,
                                       std::span<const std::string> input_fields,
                                       std::string what) {
  auto state = std::make_shared<State>();
  state->what = std::move(what);
  state->fields = checked_fields(input_fields, state->what);
  if (source.size() > kMaxTemplateBytes) {
    throw PromptError(state->what + ": longer than " + std::to_string(kMaxTemplateBytes) +
                      " bytes");
  }
  state->source = std::string(source);
  const std::string& src = state->source;
  jinja::lexer_result tokens;
  try {
    jinja::lexer lexer;
    tokens = lexer.tokenize(src);
    check_structure(tokens.tokens, src, state->what);
    state->program = jinja::parse_from_tokens(tokens);
  } catch (const PromptError&) {
    throw;
  } catch (const std::exception& e) {
    std::optional<std::size_t> at = offset_from_window(src, e.what());
    if (!at) at = failing_tag(tokens);
    throw PromptError(state->what + ": " + (at ? line_column(src, *at) + ": " : "") +
                      first_line(e.what()));
  }
  VariableChecker checker(src, state->fields, state->what);
  checker.check(state->program);
  state->references = checker.references();
  for (const auto& f : state->fields) {
    if (std::binary_search(state->references.begin(), state->references.end(), f)) {
      state->required_fields.push_back(f);
    }
  }
  return PromptTemplate(std::move(state));
}

const std::vector<std::string>& PromptTemplate::references() const {
  return state_->references;
}

bool PromptTemplate::references(std::string_view name) const {
  return std::binary_search(state_->references.begin(), state_->references.end(), name);
}

const std::string& PromptTemplate::what() const {
  return state_->what;
}

std::string PromptTemplate::render(const TemplateContext& in) const {
  const State& s = *state_;
  if (in.input == nullptr) throw PromptError(s.what + ": no input to render");
  for (const auto& f : s.required_fields) {
    if (!in.input->contains(f)) {
      throw PromptError(s.what + ": the input has no field '" + f + "', which the template uses");
    }
  }
  jinja::context ctx(s.source);
  ctx.set_val("task", jinja::mk_val<jinja::value_string>(std::string(in.task)));
  ctx.set_val("schema", jinja::mk_val<jinja::value_string>(std::string(in.schema)));
  auto labels = jinja::mk_val<jinja::value_array>();
  for (const auto& l : in.labels) labels->push_back(jinja::mk_val<jinja::value_string>(l));
  ctx.set_val("labels", labels);
  boost::json::value input_value = *in.input;  // one copy; to_jinja reads a value
  ctx.set_val("input", to_jinja(input_value, 1, "the input"));
  for (const auto& f : s.fields) {
    if (const auto* v = in.input->if_contains(f)) ctx.set_val(f, to_jinja(*v, 1, "the input"));
  }
  auto examples = jinja::mk_val<jinja::value_array>();
  if (in.examples != nullptr) {
    for (const auto& e : *in.examples) examples->push_back(to_jinja(e, 1, "an example"));
  }
  ctx.set_val("examples", examples);

  std::string out;
  try {
    std::lock_guard lock(s.run);
    jinja::runtime runtime(ctx);
    jinja::value_array results = runtime.execute(s.program);
    jinja::value_string parts = jinja::runtime::gather_string_parts(results);
    for (const auto& part : parts->val_str.parts) out += part.val;
  } catch (const std::exception& e) {
    throw PromptError(s.what + ": " + runtime_message(e.what()));
  }
  return out;
}

}  // namespace tandem::prompts
