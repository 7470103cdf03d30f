#pragma once
// An upstream base URL such as "https://api.openai.com/v1", split into the parts a client needs.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tandem::config {

struct Url {
  bool tls = false;
  std::string host;  // without brackets for IPv6 literals
  std::uint16_t port = 0;
  std::string base_path;  // without trailing '/', may be empty: "/v1"

  // "host:port" as sent in the Host header (brackets for IPv6).
  std::string host_header() const;
  // base_path + path, where path starts with '/': "/v1" + "/chat/completions".
  std::string target(std::string_view path) const;
};

// nullopt and a reason in *error when `text` is not an absolute http(s) URL without query or
// fragment.
std::optional<Url> parse_url(std::string_view text, std::string* error);

}  // namespace tandem::config
