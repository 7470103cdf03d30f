#pragma once
// multipart/form-data (RFC 7578) bodies, as browsers and `curl -F` send file uploads. The whole
// body is already in memory (the server's body limit bounds it); parts are views into it.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::http {

struct FormPart {
  std::string name;          // from Content-Disposition: form-data; name="..."
  std::string filename;      // empty for a plain field
  std::string content_type;  // empty when the part has none
  std::string_view data;     // into the body
};

// The boundary of a `multipart/form-data; boundary=...` content type, or nullopt when the type
// is another one or has no boundary.
std::optional<std::string> multipart_boundary(std::string_view content_type);

// The parts, or nullopt with `why` set (no opening boundary, a part without headers or without
// a name, no closing boundary, more than `max_parts` parts).
std::optional<std::vector<FormPart>> parse_multipart(std::string_view body,
                                                     std::string_view boundary,
                                                     std::string* why = nullptr,
                                                     std::size_t max_parts = 64);

}  // namespace tandem::http
