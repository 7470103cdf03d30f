#include "tandem/prompts/prompt_builder.h"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <variant>

#include "tandem/core/json_util.h"
#include "tandem/datasets/utf8.h"

namespace tandem::prompts {

namespace {

// Replies are untrusted: the gateway's own request depth limit applies to them too.
constexpr int kMaxReplyDepth = 64;
constexpr std::size_t kReplyShownInRetry = 200;

std::string trim(std::string_view s) {
  std::size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  std::size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

// Invalid bytes -> U+FFFD, so the text can go into a JSON response.
std::string valid_utf8(std::string_view s) {
  std::string out;
  while (!s.empty()) {
    std::size_t bad = datasets::detail::first_invalid_utf8(s);
    if (bad == std::string_view::npos) {
      out += s;
      break;
    }
    out += s.substr(0, bad);
    out += "\xef\xbf\xbd";
    s.remove_prefix(bad + 1);
  }
  return out;
}

// The first `max` bytes, cut on a character boundary.
std::string shorten(std::string_view s, std::size_t max) {
  if (s.size() <= max) return std::string(s);
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return std::string(s.substr(0, cut)) + "...";
}

// "```json\n{...}\n```" -> "{...}": remote models wrap JSON in fences even when told not to, on
// lines of their own or on one ("```json {...} ```", "```json{...}```"). (The local provider
// returns the bare JSON: its template's parser takes the fence off.)
std::string strip_fences(std::string text) {
  if (!text.starts_with("```")) return text;
  std::size_t last_fence = text.rfind("```");
  // A reply cut short by max_tokens has no closing fence: what follows the opening one is the
  // answer as far as it goes.
  if (last_fence < 3) last_fence = text.size();
  // A language tag ("json") is the word right after the opening fence, when more follows it.
  std::size_t start = 3;
  std::size_t tag_end = start;
  while (tag_end < last_fence && std::isalnum(static_cast<unsigned char>(text[tag_end]))) ++tag_end;
  if (tag_end < last_fence) start = tag_end;
  return trim(std::string_view(text).substr(start, last_fence - start));
}

std::optional<boost::json::value> try_parse(std::string_view text, std::string* error) {
  auto parsed = core::parse_json(text, kMaxReplyDepth);
  if (auto* err = std::get_if<core::JsonParseError>(&parsed)) {
    if (error) *error = err->message;
    return std::nullopt;
  }
  return std::move(std::get<boost::json::value>(parsed));
}

std::string label_list(std::span<const std::string> labels) {
  std::string out;
  for (const auto& l : labels)
    out += (out.empty() ? "" : ", ") + boost::json::serialize(boost::json::value(l));
  return out;
}

AnswerCheck invalid(std::string_view reply, std::string error, const std::string& how) {
  AnswerCheck a;
  a.error = std::move(error);
  a.retry_prompt =
      "Your reply " +
      boost::json::serialize(boost::json::value(valid_utf8(shorten(reply, kReplyShownInRetry)))) +
      " was invalid: " + a.error + ". Answer again with " + how + ".";
  return a;
}

AnswerCheck check_label(std::span<const std::string> labels, std::string_view reply) {
  const std::string how =
      "only a JSON object {\"label\": L} where L is one of " + label_list(labels);
  std::string text = strip_fences(trim(reply));
  auto is_label = [&](std::string_view s) {
    return std::find(labels.begin(), labels.end(), s) != labels.end();
  };
  if (is_label(text)) return AnswerCheck{boost::json::object{{"label", text}}, "", ""};
  std::string parse_error;
  std::optional<boost::json::value> v = try_parse(text, &parse_error);
  if (!v) {
    return invalid(reply, "it is neither JSON (" + parse_error + ") nor one of the labels", how);
  }
  if (v->is_string()) {
    if (is_label(v->get_string())) {
      return AnswerCheck{boost::json::object{{"label", v->get_string()}}, "", ""};
    }
  } else {
    JsonSchema schema = JsonSchema::from_json(label_schema(labels));
    if (auto e = schema.validate(*v)) return invalid(reply, *e, how);
    return AnswerCheck{v->get_object(), "", ""};
  }
  return invalid(reply, "expected one of " + label_list(labels) + ", got " + shorten(text, 60),
                 how);
}

AnswerCheck check_json(const JsonSchema* schema, std::string_view reply) {
  const std::string how = schema ? "only a JSON object that matches this JSON schema: " +
                                       boost::json::serialize(schema->json())
                                 : std::string("only a JSON object");
  std::string text = strip_fences(trim(reply));
  std::string parse_error;
  std::optional<boost::json::value> v = try_parse(text, &parse_error);
  if (!v) {
    // Text around the object ("Here is the JSON: {...}"): try the outermost braces.
    std::size_t open = text.find('{');
    std::size_t close = text.rfind('}');
    if (open != std::string::npos && close != std::string::npos && close > open) {
      v = try_parse(std::string_view(text).substr(open, close - open + 1), nullptr);
    }
    if (!v) return invalid(reply, "it is not valid JSON (" + parse_error + ")", how);
  }
  if (!v->is_object()) {
    return invalid(reply, std::string("expected a JSON object, got ") + core::json_kind_name(*v),
                   how);
  }
  if (schema) {
    if (auto e = schema->validate(*v)) return invalid(reply, *e, how);
  }
  return AnswerCheck{std::move(v->get_object()), "", ""};
}

// OpenAI: a json_schema's name matches ^[a-zA-Z0-9_-]{1,64}$.
std::string schema_name(std::string_view task) {
  std::string out;
  for (char c : task) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    out += ok ? c : '_';
    if (out.size() == 64) break;
  }
  return out.empty() ? "answer" : out;
}

}  // namespace

boost::json::array messages_json(std::span<const ChatMessage> messages) {
  boost::json::array out;
  out.reserve(messages.size());
  for (const auto& m : messages)
    out.push_back(boost::json::object{{"role", m.role}, {"content", m.content}});
  return out;
}

std::size_t estimate_tokens(std::span<const ChatMessage> messages) {
  std::size_t chars = 0;
  for (const auto& m : messages) {
    for (char c : m.content) chars += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }
  return (chars + 3) / 4 + 4 * messages.size();
}

AnswerCheck parse_answer(std::string_view contract, std::span<const std::string> labels,
                         const JsonSchema* schema, std::string_view reply_text) {
  if (contract == "labels") return check_label(labels, reply_text);
  if (contract == "json") return check_json(schema, reply_text);
  if (contract == "text") {
    return AnswerCheck{boost::json::object{{"text", valid_utf8(reply_text)}}, "", ""};
  }
  AnswerCheck a;
  a.error = "contract '" + std::string(contract) + "' has no LLM answers (labels, json or text)";
  return a;
}

std::vector<ChatMessage> retry_messages(std::span<const ChatMessage> messages,
                                        std::string_view reply_text, const AnswerCheck& failed) {
  std::vector<ChatMessage> out(messages.begin(), messages.end());
  out.push_back({"assistant", valid_utf8(reply_text)});
  out.push_back({"user", failed.retry_prompt});
  return out;
}

// OpenAI's response_format for a JSON schema.
boost::json::object json_schema_format(std::string_view name, boost::json::value schema,
                                       bool strict) {
  boost::json::object wrapper{{"name", name}};
  if (strict) wrapper["strict"] = true;
  wrapper["schema"] = std::move(schema);
  return boost::json::object{{"type", "json_schema"}, {"json_schema", std::move(wrapper)}};
}

struct PromptBuilder::State {
  std::string what;
  std::string task;
  std::string contract;
  std::vector<std::string> labels;
  std::optional<JsonSchema> schema;
  std::string schema_text;  // the `schema` template variable
  boost::json::value response_format;
  boost::json::value local_response_format;  // labels: the bare label (see the header)
  std::optional<PromptTemplate> system;
  std::optional<PromptTemplate> user;
  bool examples_in_template = false;
  std::optional<ExampleStore> store;
  std::vector<std::string> example_user_turns;  // rendered at start, one per example
  std::vector<std::string> example_assistant_turns;
  boost::json::array example_values;  // {input, output} per example, for templates
  std::size_t retrieve = 0;
  std::size_t max_prompt_tokens = 0;

  std::string render(const PromptTemplate& t, const boost::json::object& input,
                     const boost::json::array* examples) const {
    TemplateContext c;
    c.input = &input;
    c.examples = examples;
    c.labels = labels;
    c.schema = schema_text;
    c.task = task;
    return t.render(c);
  }

  // The messages with the examples `chosen` (store indices, prompt order).
  std::vector<ChatMessage> messages(const boost::json::object& input,
                                    std::span<const std::size_t> chosen) const {
    boost::json::array listed;
    if (examples_in_template) {
      for (std::size_t i : chosen) listed.push_back(example_values[i]);
    }
    std::vector<ChatMessage> out;
    if (system) out.push_back({"system", render(*system, input, &listed)});
    if (!examples_in_template) {
      for (std::size_t i : chosen) {
        out.push_back({"user", example_user_turns[i]});
        out.push_back({"assistant", example_assistant_turns[i]});
      }
    }
    out.push_back({"user", render(*user, input, &listed)});
    return out;
  }

  // An example's output as the contract has it, and as the assistant would write it.
  boost::json::value checked_output(const Example& e, const std::string& where) const {
    if (contract == "labels") {
      const boost::json::value* label = &e.output;
      if (e.output.is_object() && e.output.get_object().size() == 1 &&
          e.output.get_object().contains("label")) {
        label = &e.output.get_object().at("label");
      }
      if (!label->is_string() ||
          std::find(labels.begin(), labels.end(), label->get_string()) == labels.end()) {
        throw PromptError(where + ": output " + shorten(boost::json::serialize(e.output), 60) +
                          " is not one of the task's labels (" + label_list(labels) + ")");
      }
      return *label;
    }
    if (contract == "json") {
      if (!e.output.is_object()) {
        throw PromptError(where + ": output must be a JSON object, got " +
                          core::json_kind_name(e.output));
      }
      if (auto err = schema->validate(e.output)) {
        throw PromptError(where + ": output does not match the task's schema: " + *err);
      }
      return e.output;
    }
    if (!e.output.is_string()) {
      throw PromptError(where + ": output must be a string for a text task, got " +
                        core::json_kind_name(e.output));
    }
    return e.output;
  }

  std::string assistant_turn(const boost::json::value& output) const {
    if (contract == "labels") return boost::json::serialize(boost::json::object{{"label", output}});
    if (contract == "json") return boost::json::serialize(output);
    return std::string(output.get_string());
  }
};

PromptBuilder::PromptBuilder(const config::TaskConfig& task, const config::VariantConfig& variant,
                             BuilderOptions options)
    : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.what = "task " + task.name + ", variant " + variant.name;
  s.task = task.name;
  s.contract = task.contract;
  s.labels = task.labels;
  if (variant.kind != "llm") throw PromptError(s.what + ": not an llm variant");
  if (s.contract == "labels") {
    if (s.labels.empty()) throw PromptError(s.what + ": a labels task needs labels");
    boost::json::value ls = label_schema(s.labels);
    s.schema = JsonSchema::from_json(ls);
    s.schema_text = boost::json::serialize(ls);
    s.response_format = json_schema_format("label", ls, true);
    boost::json::array names;
    for (const auto& l : s.labels) names.push_back(boost::json::string(l));
    s.local_response_format = json_schema_format(
        "label", boost::json::object{{"type", "string"}, {"enum", std::move(names)}}, true);
  } else if (s.contract == "json") {
    if (task.schema_json.empty()) throw PromptError(s.what + ": a json task needs a schema");
    try {
      s.schema = JsonSchema::parse(task.schema_json);
    } catch (const PromptError& e) {
      throw PromptError("task " + task.name + ": " + e.what());
    }
    if (!s.schema->requires_object()) {
      throw PromptError("task " + task.name +
                        ": schema: the answer must be an object (\"type\": \"object\" at the "
                        "top level), as structured-output APIs require");
    }
    s.schema_text = boost::json::serialize(s.schema->json());
    s.response_format = json_schema_format(schema_name(task.name), s.schema->json(), false);
  } else if (s.contract != "text") {
    throw PromptError(s.what + ": an llm variant answers a labels, json or text task, not '" +
                      s.contract + "'");
  }

  if (variant.user_template.empty()) throw PromptError(s.what + ": the template is empty");
  s.user = PromptTemplate::compile(variant.user_template, task.input_fields, s.what + ", template");
  if (!variant.system_template.empty()) {
    s.system = PromptTemplate::compile(variant.system_template, task.input_fields,
                                       s.what + ", system_template");
  }
  s.examples_in_template =
      s.user->references("examples") || (s.system && s.system->references("examples"));
  if (variant.max_prompt_tokens < 0) throw PromptError(s.what + ": max_prompt_tokens < 0");
  if (variant.retrieve_examples < 0) throw PromptError(s.what + ": retrieve_examples < 0");
  s.max_prompt_tokens = static_cast<std::size_t>(variant.max_prompt_tokens);
  s.retrieve = static_cast<std::size_t>(variant.retrieve_examples);

  std::vector<Example> examples = examples_from_config(variant.examples, s.what);
  for (auto& e : options.extra_examples) examples.push_back(std::move(e));
  for (std::size_t i = 0; i < examples.size(); ++i) {
    std::string where = s.what + ": example " + std::to_string(i + 1);
    boost::json::value output = s.checked_output(examples[i], where);
    s.example_values.push_back(
        boost::json::object{{"input", examples[i].input}, {"output", output}});
    // Rendered once here: an example without a field the template needs fails at start.
    try {
      if (!s.examples_in_template) {
        s.example_user_turns.push_back(s.render(*s.user, examples[i].input, nullptr));
        s.example_assistant_turns.push_back(s.assistant_turn(output));
      }
    } catch (const PromptError& e) {
      throw PromptError(where + ": " + e.what());
    }
  }
  std::shared_ptr<const SentenceEmbedder> embedder;
  if (s.retrieve > 0 && !examples.empty()) {
    embedder = options.embedder;
    if (!embedder && variant.embedder == "glove") embedder = GloveEmbedder::load_default();
    if (!embedder) {
      throw PromptError(s.what + ": retrieves examples with embedder '" + variant.embedder +
                        "', which was not given to the prompt builder");
    }
  }
  s.store.emplace(std::move(examples), task.input_fields, std::move(embedder));
}

PromptBuilder::~PromptBuilder() = default;
PromptBuilder::PromptBuilder(PromptBuilder&&) noexcept = default;
PromptBuilder& PromptBuilder::operator=(PromptBuilder&&) noexcept = default;

PromptRequest PromptBuilder::build(const boost::json::object& input,
                                   const TokenCounter& count) const {
  const State& s = *state_;
  PromptRequest out;
  out.response_format = s.response_format;
  std::vector<std::size_t> chosen;
  if (s.retrieve > 0) {
    for (const auto& m : s.store->select(input, s.retrieve, &out.embedding)) {
      chosen.push_back(m.index);
    }
  } else {
    for (std::size_t i = 0; i < s.store->size(); ++i) chosen.push_back(i);
  }
  if (s.max_prompt_tokens == 0) {
    out.messages = s.messages(input, chosen);
    out.examples = std::move(chosen);
    return out;
  }
  auto tokens = [&](const std::vector<ChatMessage>& m) {
    return count ? count(m) : estimate_tokens(m);
  };
  auto with_dropped = [&](std::size_t d) {
    return s.messages(input, std::span<const std::size_t>(chosen).subspan(d));
  };
  std::vector<ChatMessage> best = with_dropped(0);
  std::size_t best_tokens = tokens(best);
  std::size_t dropped = 0;
  if (best_tokens > s.max_prompt_tokens) {
    // More examples dropped never makes a prompt longer: binary search for the fewest drops.
    std::size_t lo = 1;
    std::size_t hi = chosen.size();
    std::vector<ChatMessage> none = with_dropped(hi);
    std::size_t none_tokens = tokens(none);
    if (none_tokens > s.max_prompt_tokens) {
      throw PromptError(s.what + ": the prompt needs " + std::to_string(none_tokens) +
                        " tokens without any few-shot example, more than max_prompt_tokens " +
                        std::to_string(s.max_prompt_tokens));
    }
    best = std::move(none);
    best_tokens = none_tokens;
    dropped = hi;
    while (lo < hi) {
      std::size_t mid = lo + (hi - lo) / 2;
      std::vector<ChatMessage> m = with_dropped(mid);
      std::size_t t = tokens(m);
      if (t <= s.max_prompt_tokens) {
        hi = mid;
        best = std::move(m);
        best_tokens = t;
        dropped = mid;
      } else {
        lo = mid + 1;
      }
    }
  }
  out.messages = std::move(best);
  out.prompt_tokens = best_tokens;
  out.examples_dropped = dropped;
  out.examples.assign(chosen.begin() + static_cast<std::ptrdiff_t>(dropped), chosen.end());
  return out;
}

AnswerCheck PromptBuilder::parse_answer(std::string_view reply_text) const {
  const State& s = *state_;
  return prompts::parse_answer(s.contract, s.labels, s.schema ? &*s.schema : nullptr, reply_text);
}

const std::string& PromptBuilder::contract() const {
  return state_->contract;
}
const boost::json::value& PromptBuilder::local_response_format() const {
  return state_->local_response_format;
}
const std::string& PromptBuilder::what() const {
  return state_->what;
}
const std::optional<JsonSchema>& PromptBuilder::schema() const {
  return state_->schema;
}
std::size_t PromptBuilder::example_count() const {
  return state_->store->size();
}
const EmbeddingSpend& PromptBuilder::examples_embedding() const {
  return state_->store->load_spend();
}

}  // namespace tandem::prompts
