#include "tandem/routing/failure.h"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>

#include "tandem/core/json_util.h"

namespace tandem::routing {

const char* to_string(FailureKind kind) {
  switch (kind) {
    case FailureKind::connect:
      return "connect_error";
    case FailureKind::timeout:
      return "timeout";
    case FailureKind::reset:
      return "connection_reset";
    case FailureKind::tls:
      return "tls_error";
    case FailureKind::protocol:
      return "protocol_error";
    case FailureKind::rate_limited:
      return "rate_limited";
    case FailureKind::server_error:
      return "server_error";
    case FailureKind::context_length:
      return "context_length_exceeded";
    case FailureKind::content_refused:
      return "content_refused";
    case FailureKind::upstream_auth:
      return "upstream_auth";
    case FailureKind::upstream_missing:
      return "upstream_not_found";
    case FailureKind::client_error:
      return "invalid_request";
    case FailureKind::circuit_open:
      return "circuit_open";
    case FailureKind::cancelled:
      return "cancelled";
  }
  return "unknown";
}

bool is_retryable(FailureKind kind) {
  switch (kind) {
    case FailureKind::connect:
    case FailureKind::timeout:
    case FailureKind::reset:
    case FailureKind::rate_limited:
    case FailureKind::server_error:
      return true;
    default:
      return false;
  }
}

bool falls_back(FailureKind kind) {
  return kind != FailureKind::client_error && kind != FailureKind::cancelled;
}

bool counts_against_health(FailureKind kind) {
  switch (kind) {
    case FailureKind::client_error:
    case FailureKind::context_length:
    case FailureKind::content_refused:
    case FailureKind::upstream_missing:
    case FailureKind::cancelled:
      return false;
    default:
      return true;
  }
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  double seconds = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec != std::errc{} || ptr != value.data() + value.size() ||
      !(seconds >= 0 && seconds <= 86400)) {
    return std::nullopt;
  }
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

namespace {
bool contains_lower(std::string_view haystack, std::string_view needle) {
  auto it =
      std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                  [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
  return it != haystack.end();
}
}  // namespace

Failure classify_http_failure(int status, std::string_view body, std::string_view retry_after) {
  Failure f;
  f.http_status = status;
  std::string code, message;
  auto parsed = core::parse_json(body.substr(0, 64 * 1024));
  if (auto* v = std::get_if<boost::json::value>(&parsed); v && v->is_object()) {
    if (auto* err = core::find_member(v->get_object(), "error"); err && err->is_object()) {
      const auto& e = err->get_object();
      if (auto* c = core::find_member(e, "code"); c && c->is_string()) code = c->get_string();
      if (auto* m = core::find_member(e, "message"); m && m->is_string()) {
        message = std::string(m->get_string()).substr(0, 300);
      }
    }
  }
  f.detail = "HTTP " + std::to_string(status) + (message.empty() ? "" : ": " + message);
  if (code == "context_length_exceeded" || contains_lower(message, "maximum context length") ||
      contains_lower(message, "context window")) {
    f.kind = FailureKind::context_length;
  } else if (code == "content_filter" || code == "content_policy_violation") {
    f.kind = FailureKind::content_refused;
  } else if (status == 429) {
    f.kind = FailureKind::rate_limited;
    f.retry_after = parse_retry_after(retry_after);
  } else if (status == 408) {
    f.kind = FailureKind::timeout;
  } else if (status >= 500) {
    f.kind = FailureKind::server_error;
    f.retry_after = parse_retry_after(retry_after);
  } else if (status == 401 || status == 403) {
    f.kind = FailureKind::upstream_auth;
  } else if (status == 404) {
    f.kind = FailureKind::upstream_missing;
  } else if (status == 413) {
    f.kind = FailureKind::context_length;
  } else {
    f.kind = FailureKind::client_error;
    f.upstream_body = std::string(body.substr(0, 64 * 1024));
  }
  return f;
}

}  // namespace tandem::routing
