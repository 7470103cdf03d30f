#include "tandem/api/embeddings_request.h"

#include "tandem/core/request_checks.h"

namespace tandem::api {

namespace checks = core::checks;

std::variant<EmbeddingsRequest, core::ApiError> parse_embeddings_request(std::string_view text,
                                                                         int max_depth) {
  std::string model;
  auto body = checks::body_with_model(text, max_depth, model);
  if (auto* error = std::get_if<core::ApiError>(&body)) return std::move(*error);
  // Move-constructed, never assigned: assigning between two memory resources copies every node
  // out of the request's arena (measured: a sixth of the request path's allocations).
  EmbeddingsRequest req{std::move(model), std::move(std::get<boost::json::object>(body))};
  const auto& o = req.body;
  const auto* input = core::find_member(o, "input");
  if (input == nullptr) return core::invalid_request("input: required field is missing", "input");
  if (input->is_string()) {
    if (input->get_string().empty())
      return core::invalid_request("input: must not be empty", "input");
  } else if (input->is_array()) {
    const auto& a = input->get_array();
    if (a.empty()) return core::invalid_request("input: must not be an empty array", "input");
    if (a.size() > 2048) return core::invalid_request("input: at most 2048 items", "input");
    for (std::size_t i = 0; i < a.size(); ++i) {
      std::string p = "input[" + std::to_string(i) + "]";
      const auto& item = a[i];
      bool ok = item.is_string() || item.is_int64() || item.is_uint64();
      if (item.is_array()) {  // an array of token ids
        ok = true;
        for (const auto& t : item.get_array()) ok = ok && (t.is_int64() || t.is_uint64());
      }
      if (!ok) return checks::wrong_type(p, "a string, a token id or an array of token ids", item);
    }
  } else {
    return checks::wrong_type("input", "a string or an array", *input);
  }
  if (auto e = checks::integer_in(o, "dimensions", 1, 65536)) return *e;
  if (const auto* f = core::find_member(o, "encoding_format"); f && !f->is_null()) {
    if (!f->is_string() || (f->get_string() != "float" && f->get_string() != "base64")) {
      return core::invalid_request("encoding_format: must be float or base64", "encoding_format");
    }
  }
  return req;
}

}  // namespace tandem::api
