#include "tandem/config/url.h"

#include <charconv>

namespace tandem::config {

std::string Url::host_header() const {
  std::string h;
  bool ipv6 = host.find(':') != std::string::npos;
  if (ipv6) h.push_back('[');
  h.append(host);
  if (ipv6) h.push_back(']');
  bool default_port = (tls && port == 443) || (!tls && port == 80);
  if (!default_port) {
    h.push_back(':');
    h.append(std::to_string(port));
  }
  return h;
}

std::string Url::target(std::string_view path) const {
  std::string t = base_path;
  t += path;
  return t;
}

std::optional<Url> parse_url(std::string_view text, std::string* error) {
  auto fail = [&](const char* why) -> std::optional<Url> {
    if (error) *error = why;
    return std::nullopt;
  };
  Url url;
  std::string_view rest;
  if (text.starts_with("http://")) {
    rest = text.substr(7);
  } else if (text.starts_with("https://")) {
    url.tls = true;
    rest = text.substr(8);
  } else {
    return fail("must start with http:// or https://");
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return fail("must not contain a query or fragment");
  }
  std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  if (authority.empty()) return fail("has no host");
  if (authority.find('@') != std::string_view::npos) return fail("must not contain credentials");
  std::string_view host = authority;
  std::string_view port_text;
  if (authority.front() == '[') {
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return fail("has an unterminated IPv6 literal");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail("has garbage after the IPv6 literal");
      port_text = after.substr(1);
    }
  } else {
    std::size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port_text = authority.substr(colon + 1);
    }
  }
  if (host.empty()) return fail("has no host");
  url.host = std::string(host);
  url.port = url.tls ? 443 : 80;
  if (!port_text.empty()) {
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc{} || ptr != port_text.data() + port_text.size() || value == 0 ||
        value > 65535) {
      return fail("has an invalid port");
    }
    url.port = static_cast<std::uint16_t>(value);
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  url.base_path = std::string(path);
  return url;
}

}  // namespace tandem::config
