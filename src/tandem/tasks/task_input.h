#pragma once
// What a POST /v1/tasks/<name> request asks, parsed and checked on the network thread before any
// model runs: one typed input per task kind. Everything a client can get wrong without the model
// (wrong JSON types, empty text, a count out of range, bad base64, an oversized image) is a 400
// here, so the workers only see well-formed work.
//
// Bodies (JSON):
//   text    {"input": "some text"} or {"input": {"text": "...", <other input_fields>}},
//           optional "explain": 0..50
//   recsys  {"input": {"user": 42}} (recommendations) or {"input": {"item": 1}} (similar items),
//           optional "n": 1..max_n, "explain": 0..20 reasons per recommended item (default 3)
//   vision  {"input": {"image": "<base64 PNG/JPEG, or a data: URL>"}} or
//           {"input": {"pixels": [784 numbers 0..255] or [[28 rows of 28]]}}, optional "top_k"
// Every kind also takes an optional "context" (stakes, explain, resources, latency_budget_ms,
// language, user) for the task's policy. Vision also takes multipart/form-data: a file part "image"
// and optional field "top_k".
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tandem/config/config.h"
#include "tandem/core/api_error.h"
#include "tandem/core/request_context.h"

#include <boost/json/object.hpp>

namespace tandem::tasks {

struct TextInput {
  std::string text;            // the first input field, as a tailored model reads it
  boost::json::object fields;  // every input field, as a prompt template reads them
  int explain = 0;             // explanation tokens wanted
};

struct RecsysInput {
  std::optional<std::uint32_t> user;  // exactly one of user and item is set
  std::optional<std::uint32_t> item;
  int n = 10;
  int explain = 3;  // reasons per recommended item (users only)
};

struct ImageInput {
  std::string encoded;         // PNG/JPEG bytes (empty when pixels are given)
  std::vector<double> pixels;  // 784 values, row-major (empty when an image is given)
  int top_k = 3;
};

using TaskInput = std::variant<TextInput, RecsysInput, ImageInput>;

// `context`, when given, receives the request's "context" (see core/request_context.h).
std::variant<TaskInput, core::ApiError> parse_task_input(const config::TaskConfig& task,
                                                         std::string_view content_type,
                                                         std::string_view body, int max_json_depth,
                                                         core::RequestContext* context = nullptr);

}  // namespace tandem::tasks
