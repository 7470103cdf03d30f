#pragma once
// POST /v1/chat/completions: the request body validated and converted at the edge. Known fields
// are checked against OpenAI's contract (errors name the field); the whole object is kept so that
// fields Tandem does not interpret (tools, response_format, logit_bias, ...) pass through intact.
#include <boost/json/object.hpp>
#include <string>
#include <string_view>
#include <variant>

#include "tandem/core/api_error.h"

namespace tandem::api {

struct ChatRequest {
  std::string model;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage as the client asked
  boost::json::object body;
  // OpenAI's token logprobs: `logprobs: true`, and `top_logprobs` (0..20, only with logprobs)
  // alternatives per token. Remote providers get the body as it is; local models compute them.
  bool logprobs = false;
  int top_logprobs = 0;
};

std::variant<ChatRequest, core::ApiError> parse_chat_request(std::string_view body, int max_depth);

}  // namespace tandem::api
