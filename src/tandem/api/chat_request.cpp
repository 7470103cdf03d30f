#include "tandem/api/chat_request.h"

#include <array>

#include "tandem/core/request_checks.h"

namespace tandem::api {

namespace checks = core::checks;

namespace {

using boost::json::kind;
using checks::wrong_type;

std::optional<core::ApiError> check_content(const boost::json::value& content,
                                            const std::string& path, bool may_be_null) {
  if (content.is_string()) return std::nullopt;
  if (content.is_null()) {
    if (may_be_null) return std::nullopt;
    return core::invalid_request(path + ": must not be null for this role", path);
  }
  if (!content.is_array())
    return wrong_type(path, "a string or an array of content parts", content);
  const auto& parts = content.get_array();
  for (std::size_t i = 0; i < parts.size(); ++i) {
    std::string p = path + "[" + std::to_string(i) + "]";
    if (!parts[i].is_object()) return wrong_type(p, "a content part object", parts[i]);
    const auto* type = core::find_member(parts[i].get_object(), "type");
    if (type == nullptr || !type->is_string()) {
      return core::invalid_request(p + ".type: required string is missing", p + ".type");
    }
  }
  return std::nullopt;
}

std::optional<core::ApiError> check_message(const boost::json::value& m, std::size_t index) {
  std::string path = "messages[" + std::to_string(index) + "]";
  if (!m.is_object()) return wrong_type(path, "an object", m);
  const auto& o = m.get_object();
  const auto* role = core::find_member(o, "role");
  if (role == nullptr)
    return core::invalid_request(path + ".role: required field is missing", path + ".role");
  if (!role->is_string()) return wrong_type(path + ".role", "a string", *role);
  static constexpr std::array<std::string_view, 6> roles{"system",    "developer", "user",
                                                         "assistant", "tool",      "function"};
  std::string_view r = role->get_string();
  bool known = false;
  for (auto k : roles) known = known || k == r;
  if (!known) {
    return core::invalid_request(path +
                                     ".role: must be one of system, developer, user, assistant, "
                                     "tool, function; got '" +
                                     std::string(r.substr(0, 40)) + "'",
                                 path + ".role");
  }
  bool assistant = r == "assistant";
  const auto* content = core::find_member(o, "content");
  if (content == nullptr) {
    if (!assistant)
      return core::invalid_request(path + ".content: required field is missing", path + ".content");
  } else if (auto e = check_content(*content, path + ".content", assistant)) {
    return e;
  }
  if (const auto* calls = core::find_member(o, "tool_calls"); calls && !calls->is_null()) {
    if (!assistant)
      return core::invalid_request(path + ".tool_calls: only assistant messages have tool calls",
                                   path + ".tool_calls");
    if (!calls->is_array()) return wrong_type(path + ".tool_calls", "an array", *calls);
    for (std::size_t i = 0; i < calls->get_array().size(); ++i) {
      const auto& c = calls->get_array()[i];
      std::string p = path + ".tool_calls[" + std::to_string(i) + "]";
      if (!c.is_object()) return wrong_type(p, "an object", c);
      const auto* id = core::find_member(c.get_object(), "id");
      if (id == nullptr || !id->is_string())
        return core::invalid_request(p + ".id: required string is missing", p + ".id");
      const auto* fn = core::find_member(c.get_object(), "function");
      if (fn == nullptr || !fn->is_object())
        return core::invalid_request(p + ".function: required object is missing", p + ".function");
    }
  }
  if (r == "tool") {
    const auto* id = core::find_member(o, "tool_call_id");
    if (id == nullptr || !id->is_string()) {
      return core::invalid_request(path + ".tool_call_id: required for tool messages",
                                   path + ".tool_call_id");
    }
  }
  if (auto e = checks::optional_kind(o, "name", kind::string, "a string")) {
    e->param = path + ".name";
    e->message = path + "." + e->message;
    return e;
  }
  return std::nullopt;
}

std::optional<core::ApiError> check_tool_choice(const boost::json::object& o) {
  if (const auto* choice = core::find_member(o, "tool_choice"); choice && !choice->is_null()) {
    if (choice->is_string()) {
      std::string_view c = choice->get_string();
      if (c != "none" && c != "auto" && c != "required") {
        return core::invalid_request("tool_choice: must be none, auto, required or an object",
                                     "tool_choice");
      }
    } else if (!choice->is_object()) {
      return wrong_type("tool_choice", "a string or an object", *choice);
    }
  }
  return std::nullopt;
}

std::optional<core::ApiError> check_tools(const boost::json::object& o) {
  if (auto e = check_tool_choice(o)) return e;
  const auto* tools = core::find_member(o, "tools");
  if (tools == nullptr || tools->is_null()) return std::nullopt;
  if (!tools->is_array()) return wrong_type("tools", "an array", *tools);
  for (std::size_t i = 0; i < tools->get_array().size(); ++i) {
    const auto& t = tools->get_array()[i];
    std::string p = "tools[" + std::to_string(i) + "]";
    if (!t.is_object()) return wrong_type(p, "an object", t);
    const auto* type = core::find_member(t.get_object(), "type");
    if (type == nullptr || !type->is_string())
      return core::invalid_request(p + ".type: required string is missing", p + ".type");
    if (type->get_string() != "function") continue;  // other tool types pass through
    const auto* fn = core::find_member(t.get_object(), "function");
    if (fn == nullptr || !fn->is_object())
      return core::invalid_request(p + ".function: required object is missing", p + ".function");
    const auto* name = core::find_member(fn->get_object(), "name");
    if (name == nullptr || !name->is_string() || name->get_string().empty()) {
      return core::invalid_request(p + ".function.name: required string is missing",
                                   p + ".function.name");
    }
  }
  return std::nullopt;
}

std::optional<core::ApiError> check_response_format(const boost::json::object& o) {
  const auto* rf = core::find_member(o, "response_format");
  if (rf == nullptr || rf->is_null()) return std::nullopt;
  if (!rf->is_object()) return wrong_type("response_format", "an object", *rf);
  const auto* type = core::find_member(rf->get_object(), "type");
  if (type == nullptr || !type->is_string()) {
    return core::invalid_request("response_format.type: required string is missing",
                                 "response_format.type");
  }
  std::string_view t = type->get_string();
  if (t == "json_schema") {
    const auto* js = core::find_member(rf->get_object(), "json_schema");
    if (js == nullptr || !js->is_object()) {
      return core::invalid_request("response_format.json_schema: required object is missing",
                                   "response_format.json_schema");
    }
    const auto* name = core::find_member(js->get_object(), "name");
    if (name == nullptr || !name->is_string()) {
      return core::invalid_request("response_format.json_schema.name: required string is missing",
                                   "response_format.json_schema.name");
    }
  } else if (t != "text" && t != "json_object") {
    return core::invalid_request("response_format.type: must be text, json_object or json_schema",
                                 "response_format.type");
  }
  return std::nullopt;
}

std::optional<core::ApiError> check_stop(const boost::json::object& o) {
  const auto* stop = core::find_member(o, "stop");
  if (stop == nullptr || stop->is_null() || stop->is_string()) return std::nullopt;
  if (!stop->is_array()) return wrong_type("stop", "a string or an array of strings", *stop);
  if (stop->get_array().size() > 4)
    return core::invalid_request("stop: at most 4 sequences", "stop");
  for (const auto& s : stop->get_array()) {
    if (!s.is_string()) return wrong_type("stop", "an array of strings", s);
  }
  return std::nullopt;
}

}  // namespace

std::variant<ChatRequest, core::ApiError> parse_chat_request(std::string_view text, int max_depth) {
  std::string model;
  auto body = checks::body_with_model(text, max_depth, model);
  if (auto* error = std::get_if<core::ApiError>(&body)) return std::move(*error);
  // Move-constructed, never assigned: assigning between two memory resources copies every node
  // out of the request's arena (measured: a sixth of the request path's allocations).
  ChatRequest req{std::move(model), false, false, std::move(std::get<boost::json::object>(body))};
  const auto& o = req.body;

  const auto* messages = core::find_member(o, "messages");
  if (messages == nullptr)
    return core::invalid_request("messages: required field is missing", "messages");
  if (!messages->is_array()) return wrong_type("messages", "an array", *messages);
  if (messages->get_array().empty())
    return core::invalid_request("messages: must not be empty", "messages");
  for (std::size_t i = 0; i < messages->get_array().size(); ++i) {
    if (auto e = check_message(messages->get_array()[i], i)) return *e;
  }

  if (const auto* s = core::find_member(o, "stream"); s && !s->is_null()) {
    if (!s->is_bool()) return wrong_type("stream", "a boolean", *s);
    req.stream = s->get_bool();
  }
  if (const auto* so = core::find_member(o, "stream_options"); so && !so->is_null()) {
    if (!so->is_object()) return wrong_type("stream_options", "an object", *so);
    if (!req.stream) {
      return core::invalid_request("stream_options: only allowed when stream is true",
                                   "stream_options");
    }
    if (const auto* iu = core::find_member(so->get_object(), "include_usage");
        iu && !iu->is_null()) {
      if (!iu->is_bool()) return wrong_type("stream_options.include_usage", "a boolean", *iu);
      req.include_usage = iu->get_bool();
    }
  }
  if (auto e = checks::number_in(o, "temperature", 0, 2)) return *e;
  if (auto e = checks::number_in(o, "top_p", 0, 1)) return *e;
  if (auto e = checks::number_in(o, "presence_penalty", -2, 2)) return *e;
  if (auto e = checks::number_in(o, "frequency_penalty", -2, 2)) return *e;
  if (auto e = checks::integer_in(o, "n", 1, 128)) return *e;
  if (auto e = checks::integer_in(o, "max_tokens", 1, 1LL << 31)) return *e;
  if (auto e = checks::integer_in(o, "max_completion_tokens", 1, 1LL << 31)) return *e;
  if (auto e = checks::integer_in(o, "seed", INT64_MIN, INT64_MAX)) return *e;
  if (auto e = checks::integer_in(o, "top_logprobs", 0, 20)) return *e;
  if (auto e = checks::optional_kind(o, "logprobs", kind::bool_, "a boolean")) return *e;
  if (const auto* lp = core::find_member(o, "logprobs"); lp && lp->is_bool()) {
    req.logprobs = lp->get_bool();
  }
  if (const auto* top = core::find_member(o, "top_logprobs"); top && top->is_number()) {
    req.top_logprobs = static_cast<int>(top->to_number<double>());
    if (req.top_logprobs > 0 && !req.logprobs) {
      return core::invalid_request("top_logprobs: only allowed when logprobs is true",
                                   "top_logprobs");
    }
  }
  if (auto e = checks::optional_kind(o, "user", kind::string, "a string")) return *e;
  if (auto e = checks::optional_kind(o, "logit_bias", kind::object, "an object")) return *e;
  if (auto e = checks::optional_kind(o, "metadata", kind::object, "an object")) return *e;
  if (auto e = checks::optional_kind(o, "parallel_tool_calls", kind::bool_, "a boolean")) return *e;
  if (auto e = check_stop(o)) return *e;
  if (auto e = check_tools(o)) return *e;
  if (auto e = check_response_format(o)) return *e;
  return req;
}

}  // namespace tandem::api
