#include "tandem/tasks/task_input.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>

#include "tandem/core/base64.h"
#include "tandem/core/json_util.h"
#include "tandem/core/request_checks.h"
#include "tandem/http/multipart.h"

namespace tandem::tasks {

namespace json = boost::json;
namespace checks = core::checks;
using checks::wrong_type;

namespace {

constexpr int kImageSide = 28;
constexpr std::size_t kPixels = kImageSide * kImageSide;

// An optional integer field with its default; the error names the field and the range.
std::optional<core::ApiError> read_count(const json::object& o, std::string_view key, int min,
                                         int max, int& out) {
  if (auto e = checks::integer_in(o, key, min, max)) return e;
  const json::value* v = core::find_member(o, key);
  if (v != nullptr && !v->is_null()) out = static_cast<int>(checks::as_double(*v));
  return std::nullopt;
}

// Keys other than these are refused: a typo ("top-k") must not silently fall back to the
// default. `prefix` is the object's own path ("input." for the input object, "" at the top).
std::optional<core::ApiError> only_keys(const json::object& o,
                                        std::initializer_list<std::string_view> allowed,
                                        std::string_view prefix = "") {
  for (const auto& [key, value] : o) {
    bool known = false;
    for (auto a : allowed) known = known || key == a;
    if (!known) {
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      std::string path = std::string(prefix) + std::string(key);
      return core::invalid_request(path + ": unknown field (this task takes " + list + ")", path,
                                   "unknown_field");
    }
  }
  return std::nullopt;
}

std::variant<TaskInput, core::ApiError> parse_text(const config::TaskConfig& task,
                                                   const json::object& o) {
  if (auto e = only_keys(o, {"input", "explain", "context"})) return *e;
  const json::value* input = core::find_member(o, "input");
  if (input == nullptr) return core::invalid_request("input: required field is missing", "input");
  TextInput in;
  in.explain = task.explain;
  // The fields a text task takes (default: just "text"). A bare string is the first field.
  std::vector<std::string> fields = task.input_fields;
  if (fields.empty()) fields = {"text"};
  if (input->is_string()) {
    in.fields[fields.front()] = input->get_string();
  } else if (input->is_object()) {
    for (const auto& [key, value] : input->get_object()) {
      std::string path = "input." + std::string(key);
      if (std::find(fields.begin(), fields.end(), key) == fields.end()) {
        std::string list;
        for (const auto& f : fields) list += (list.empty() ? "" : ", ") + f;
        return core::invalid_request(path + ": unknown field (this task takes " + list + ")", path,
                                     "unknown_field");
      }
      if (!value.is_string() && !value.is_number() && !value.is_bool()) {
        return wrong_type(path, "a string, number or boolean", value);
      }
      in.fields[key] = value;
    }
  } else {
    return wrong_type("input", "a string or an object of input fields", *input);
  }
  for (const auto& f : fields) {
    std::string path = input->is_string() ? "input" : "input." + f;
    const json::value* v = in.fields.if_contains(f);
    if (v == nullptr) return core::invalid_request(path + ": required field is missing", path);
    if (v->is_string()) {
      bool blank = true;
      for (char c : v->get_string()) blank = blank && std::isspace(static_cast<unsigned char>(c));
      if (blank) {
        return core::invalid_request(path + ": must not be empty or only whitespace", path);
      }
    }
  }
  // What a tailored model reads: the first field as text.
  const json::value& first = in.fields.at(fields.front());
  in.text = first.is_string() ? std::string(first.get_string()) : json::serialize(first);
  if (auto e = read_count(o, "explain", 0, 50, in.explain)) return *e;
  return TaskInput{std::move(in)};
}

std::optional<core::ApiError> read_id(const json::object& o, const std::string& path,
                                      std::string_view key, std::optional<std::uint32_t>& out) {
  const json::value* v = core::find_member(o, key);
  if (v == nullptr) return std::nullopt;
  std::string p = path + "." + std::string(key);
  std::int64_t id = -1;
  if (v->is_int64()) {
    id = v->get_int64();
  } else if (v->is_uint64()) {
    id = -1;  // above INT64_MAX: out of range below
  } else {
    return wrong_type(p, "an integer id", *v);
  }
  if (id < 0 || id > 0xffffffffLL) {
    return core::invalid_request(p + ": must be an id between 0 and 4294967295", p);
  }
  out = static_cast<std::uint32_t>(id);
  return std::nullopt;
}

std::variant<TaskInput, core::ApiError> parse_recsys(const config::TaskConfig& task,
                                                     const json::object& o) {
  if (auto e = only_keys(o, {"input", "n", "explain", "context"})) return *e;
  const json::value* input = core::find_member(o, "input");
  if (input == nullptr) {
    return core::invalid_request(
        "input: required field is missing ({\"user\": id} or "
        "{\"item\": id})",
        "input");
  }
  if (!input->is_object()) return wrong_type("input", "an object {\"user\": id}", *input);
  const json::object& io = input->get_object();
  if (auto e = only_keys(io, {"user", "item"}, "input.")) return *e;
  RecsysInput in;
  in.n = task.top_n;
  if (auto e = read_id(io, "input", "user", in.user)) return *e;
  if (auto e = read_id(io, "input", "item", in.item)) return *e;
  if (in.user.has_value() == in.item.has_value()) {
    return core::invalid_request(
        "input: give exactly one of \"user\" (recommendations) or \"item\" (similar items)",
        "input");
  }
  if (auto e = read_count(o, "n", 1, task.max_n, in.n)) return *e;
  if (auto e = read_count(o, "explain", 0, 20, in.explain)) return *e;
  return TaskInput{std::move(in)};
}

// Pixels as 784 numbers, flat or as 28 rows of 28; each a number in [0, 255].
std::optional<core::ApiError> read_pixels(const json::value& v, std::vector<double>& out) {
  const std::string path = "input.pixels";
  if (!v.is_array()) return wrong_type(path, "an array of 784 numbers", v);
  const json::array& a = v.get_array();
  out.reserve(kPixels);
  auto take = [&](const json::value& p, const std::string& at) -> std::optional<core::ApiError> {
    if (!checks::is_number(p)) return wrong_type(at, "a number from 0 to 255", p);
    double d = checks::as_double(p);
    if (!(d >= 0 && d <= 255)) return core::invalid_request(at + ": must be from 0 to 255", at);
    out.push_back(d);
    return std::nullopt;
  };
  if (!a.empty() && a[0].is_array()) {
    if (a.size() != kImageSide) {
      return core::invalid_request(
          path + ": expected 28 rows of 28 pixels, got " + std::to_string(a.size()) + " rows",
          path);
    }
    for (std::size_t r = 0; r < a.size(); ++r) {
      std::string row_path = path + "[" + std::to_string(r) + "]";
      if (!a[r].is_array()) return wrong_type(row_path, "an array of 28 numbers", a[r]);
      const json::array& row = a[r].get_array();
      if (row.size() != kImageSide) {
        return core::invalid_request(
            row_path + ": expected 28 pixels, got " + std::to_string(row.size()), row_path);
      }
      for (std::size_t c = 0; c < row.size(); ++c) {
        if (auto e = take(row[c], row_path + "[" + std::to_string(c) + "]")) return e;
      }
    }
    return std::nullopt;
  }
  if (a.size() != kPixels) {
    return core::invalid_request(
        path + ": expected 784 pixels (28 x 28), got " + std::to_string(a.size()), path);
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (auto e = take(a[i], path + "[" + std::to_string(i) + "]")) return e;
  }
  return std::nullopt;
}

std::optional<core::ApiError> image_too_large(const config::TaskConfig& task, std::size_t bytes,
                                              const std::string& path) {
  if (bytes <= task.max_image_bytes) return std::nullopt;
  core::ApiError e = core::invalid_request(path + ": image is " + std::to_string(bytes) +
                                               " bytes; this task accepts at most " +
                                               std::to_string(task.max_image_bytes),
                                           path, "image_too_large");
  return e;
}

std::variant<TaskInput, core::ApiError> parse_vision_json(const config::TaskConfig& task,
                                                          const json::object& o) {
  if (auto e = only_keys(o, {"input", "top_k", "context"})) return *e;
  const json::value* input = core::find_member(o, "input");
  if (input == nullptr) {
    return core::invalid_request(
        "input: required field is missing ({\"image\": base64} or {\"pixels\": [...]})", "input");
  }
  if (!input->is_object()) return wrong_type("input", "an object {\"image\": base64}", *input);
  const json::object& io = input->get_object();
  if (auto e = only_keys(io, {"image", "pixels"}, "input.")) return *e;
  const json::value* image = core::find_member(io, "image");
  const json::value* pixels = core::find_member(io, "pixels");
  if ((image == nullptr) == (pixels == nullptr)) {
    return core::invalid_request(
        "input: give exactly one of \"image\" (base64 PNG or JPEG) or "
        "\"pixels\" (784 numbers)",
        "input");
  }
  ImageInput in;
  in.top_k = task.top_k;
  if (image != nullptr) {
    if (!image->is_string()) return wrong_type("input.image", "a base64 string", *image);
    std::string_view text = image->get_string();
    // A data URL ("data:image/png;base64,....") is accepted as browsers produce it.
    if (text.starts_with("data:")) {
      std::size_t comma = text.find(',');
      if (comma == std::string_view::npos ||
          text.substr(0, comma).find(";base64") == std::string_view::npos) {
        return core::invalid_request("input.image: a data: URL must be base64 encoded",
                                     "input.image");
      }
      text.remove_prefix(comma + 1);
    }
    // The body limit bounds the text; the decoded size is what the limit is about.
    std::string why;
    auto bytes = core::base64_decode(text, &why);
    if (!bytes) return core::invalid_request("input.image: " + why, "input.image", "invalid_image");
    if (auto e = image_too_large(task, bytes->size(), "input.image")) return *e;
    if (bytes->empty()) return core::invalid_request("input.image: is empty", "input.image");
    in.encoded = std::move(*bytes);
  } else if (auto e = read_pixels(*pixels, in.pixels)) {
    return *e;
  }
  if (auto e = read_count(o, "top_k", 1, 1000, in.top_k)) return *e;
  return TaskInput{std::move(in)};
}

std::variant<TaskInput, core::ApiError> parse_vision_multipart(const config::TaskConfig& task,
                                                               std::string_view boundary,
                                                               std::string_view body) {
  std::string why;
  auto parts = http::parse_multipart(body, boundary, &why);
  if (!parts) return core::invalid_request("request body: " + why, "", "invalid_multipart");
  ImageInput in;
  in.top_k = task.top_k;
  bool have_image = false;
  for (const auto& part : *parts) {
    if (part.name == "image") {
      if (have_image) return core::invalid_request("image: sent more than once", "image");
      have_image = true;
      if (auto e = image_too_large(task, part.data.size(), "image")) return *e;
      if (part.data.empty()) return core::invalid_request("image: is empty", "image");
      in.encoded = std::string(part.data);
    } else if (part.name == "top_k") {
      int k = 0;
      bool ok = !part.data.empty() && part.data.size() <= 4;
      for (char c : part.data) {
        ok = ok && c >= '0' && c <= '9';
        if (ok) k = k * 10 + (c - '0');
      }
      if (!ok || k < 1 || k > 1000) {
        return core::invalid_request("top_k: must be an integer from 1 to 1000", "top_k");
      }
      in.top_k = k;
    } else {
      return core::invalid_request(
          part.name + ": unknown form field (this task takes image, top_k)", part.name,
          "unknown_field");
    }
  }
  if (!have_image) {
    return core::invalid_request("image: required file field is missing", "image");
  }
  return TaskInput{std::move(in)};
}

std::optional<core::ApiError> read_context_string(const json::object& c, std::string_view key,
                                                  std::initializer_list<std::string_view> allowed,
                                                  std::size_t max_size, std::string& out) {
  const json::value* v = core::find_member(c, key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  std::string path = "context." + std::string(key);
  if (!v->is_string()) return wrong_type(path, "a string", *v);
  std::string_view s = v->get_string();
  if (allowed.size() > 0) {
    bool ok = false;
    std::string list;
    for (auto a : allowed) {
      ok = ok || s == a;
      list += (list.empty() ? "" : ", ") + std::string(a);
    }
    if (!ok) return core::invalid_request(path + ": must be one of " + list, path);
  } else if (s.empty() || s.size() > max_size) {
    return core::invalid_request(
        path + ": must be 1 to " + std::to_string(max_size) + " characters", path);
  }
  out = std::string(s);
  return std::nullopt;
}

// "context": what the request says about itself, for the task's decision table.
std::optional<core::ApiError> parse_context(const json::object& o, core::RequestContext& context) {
  const json::value* v = core::find_member(o, "context");
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_object()) return wrong_type("context", "an object", *v);
  const json::object& c = v->get_object();
  if (auto e =
          only_keys(c, {"stakes", "explain", "resources", "latency_budget_ms", "language", "user"},
                    "context.")) {
    return e;
  }
  if (auto e = read_context_string(c, "stakes", {"low", "medium", "high"}, 0, context.stakes)) {
    return e;
  }
  if (auto e = read_context_string(c, "resources", {"low", "normal"}, 0, context.resources)) {
    return e;
  }
  if (auto e = read_context_string(c, "language", {}, 16, context.language)) return e;
  if (auto e = read_context_string(c, "user", {}, 256, context.user)) return e;
  if (const json::value* e = core::find_member(c, "explain"); e != nullptr && !e->is_null()) {
    if (!e->is_bool()) return wrong_type("context.explain", "true or false", *e);
    context.explain = e->get_bool();
  }
  if (auto e = checks::integer_in(c, "latency_budget_ms", 1, 86'400'000)) {
    e->param = "context.latency_budget_ms";
    e->message = "context." + e->message;
    return e;
  }
  if (const json::value* b = core::find_member(c, "latency_budget_ms"); b && !b->is_null()) {
    context.latency_budget_ms = static_cast<std::int64_t>(checks::as_double(*b));
  }
  return std::nullopt;
}

std::size_t input_chars(const TaskInput& input) {
  if (const auto* text = std::get_if<TextInput>(&input)) {
    std::size_t n = 0;
    for (const auto& [key, value] : text->fields) {
      if (!value.is_string()) continue;
      // Characters, not bytes: count every byte that does not continue a UTF-8 sequence.
      for (unsigned char c : value.get_string()) n += (c & 0xC0) != 0x80;
    }
    return n;
  }
  return 0;
}

}  // namespace

std::variant<TaskInput, core::ApiError> parse_task_input(const config::TaskConfig& task,
                                                         std::string_view content_type,
                                                         std::string_view body, int max_json_depth,
                                                         core::RequestContext* context) {
  if (task.kind == "vision") {
    if (auto boundary = http::multipart_boundary(content_type)) {
      return parse_vision_multipart(task, *boundary, body);
    }
  }
  auto parsed = core::parse_json(body, max_json_depth);
  if (auto* err = std::get_if<core::JsonParseError>(&parsed)) {
    return core::invalid_request(err->message, "", "invalid_json");
  }
  const json::value& value = std::get<json::value>(parsed);
  if (!value.is_object()) {
    return core::invalid_request(
        std::string("request body: expected a JSON object, got ") + core::json_kind_name(value), "",
        "invalid_json");
  }
  const json::object& o = value.get_object();
  std::variant<TaskInput, core::ApiError> result = task.kind == "text" ? parse_text(task, o)
                                                   : task.kind == "recsys"
                                                       ? parse_recsys(task, o)
                                                       : parse_vision_json(task, o);
  if (context != nullptr && std::holds_alternative<TaskInput>(result)) {
    if (auto e = parse_context(o, *context)) return *e;
    context->input_chars = input_chars(std::get<TaskInput>(result));
  }
  return result;
}

}  // namespace tandem::tasks
