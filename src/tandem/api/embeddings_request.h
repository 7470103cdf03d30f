#pragma once
// POST /v1/embeddings: the request body validated at the edge.
#include <boost/json/object.hpp>
#include <string>
#include <string_view>
#include <variant>

#include "tandem/core/api_error.h"

namespace tandem::api {

struct EmbeddingsRequest {
  std::string model;
  boost::json::object body;
};

std::variant<EmbeddingsRequest, core::ApiError> parse_embeddings_request(std::string_view body,
                                                                         int max_depth);

}  // namespace tandem::api
