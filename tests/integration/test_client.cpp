#include "test_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace tandem::testing {

namespace {
std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return std::string(s);
}
long long now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

std::string HttpResult::header(const std::string& name) const {
  auto it = headers.find(lower(name));
  return it == headers.end() ? std::string() : it->second;
}

TestConnection::TestConnection(std::uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

TestConnection::~TestConnection() {
  close();
}

void TestConnection::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool TestConnection::send_raw(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool TestConnection::fill(int timeout_ms) {
  if (fd_ < 0) return false;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) <= 0) return false;
  char buf[16384];
  ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) return false;
  buffer_.append(buf, static_cast<std::size_t>(n));
  return true;
}

bool TestConnection::wait_closed(int timeout_ms) {
  long long deadline = now_ms() + timeout_ms;
  while (now_ms() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    int left = static_cast<int>(deadline - now_ms());
    if (::poll(&p, 1, std::max(left, 0)) <= 0) return false;
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return true;
  }
  return false;
}

std::string TestConnection::read_to_close(int timeout_ms) {
  long long deadline = now_ms() + timeout_ms;
  while (now_ms() < deadline && fill(static_cast<int>(deadline - now_ms()))) {
  }
  std::string all = std::move(buffer_);
  buffer_.clear();
  return all;
}

std::optional<HttpResult> TestConnection::read_response(int timeout_ms) {
  return read_until(nullptr, timeout_ms);
}

std::optional<HttpResult> TestConnection::read_until(bool (*stop)(const std::string& body),
                                                     int timeout_ms) {
  long long deadline = now_ms() + timeout_ms;
  auto remaining = [&] { return static_cast<int>(std::max(0LL, deadline - now_ms())); };
  std::size_t head_end;
  while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill(remaining())) return std::nullopt;
  }
  HttpResult r;
  std::string head = buffer_.substr(0, head_end);
  buffer_.erase(0, head_end + 4);
  std::size_t line_end = head.find("\r\n");
  std::string status_line = head.substr(0, line_end);
  if (status_line.size() < 12) return std::nullopt;
  r.status = std::atoi(status_line.c_str() + 9);
  std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    std::size_t e = head.find("\r\n", pos);
    if (e == std::string::npos) e = head.size();
    std::string line = head.substr(pos, e - pos);
    auto colon = line.find(':');
    if (colon != std::string::npos)
      r.headers[lower(line.substr(0, colon))] = trim(line.substr(colon + 1));
    pos = e + 2;
  }
  if (lower(r.header("transfer-encoding")) == "chunked") {
    for (;;) {
      std::size_t e;
      while ((e = buffer_.find("\r\n")) == std::string::npos) {
        if (!fill(remaining())) return r;
      }
      std::size_t size = std::strtoul(buffer_.substr(0, e).c_str(), nullptr, 16);
      if (size == 0) {
        // trailers until an empty line
        buffer_.erase(0, e + 2);
        for (;;) {
          std::size_t te;
          while ((te = buffer_.find("\r\n")) == std::string::npos) {
            if (!fill(remaining())) return r;
          }
          std::string line = buffer_.substr(0, te);
          buffer_.erase(0, te + 2);
          if (line.empty()) break;
          auto colon = line.find(':');
          if (colon != std::string::npos)
            r.trailers[lower(line.substr(0, colon))] = trim(line.substr(colon + 1));
        }
        r.complete = true;
        return r;
      }
      while (buffer_.size() < e + 2 + size + 2) {
        if (!fill(remaining())) return r;
      }
      r.body.append(buffer_, e + 2, size);
      buffer_.erase(0, e + 2 + size + 2);
      if (stop != nullptr && stop(r.body)) return r;
    }
  }
  std::string cl = r.header("content-length");
  std::size_t length = cl.empty() ? 0 : std::strtoul(cl.c_str(), nullptr, 10);
  while (buffer_.size() < length) {
    if (!fill(remaining())) {
      r.body = buffer_;
      buffer_.clear();
      return r;
    }
  }
  r.body = buffer_.substr(0, length);
  buffer_.erase(0, length);
  r.complete = true;
  return r;
}

std::string build_request(std::string_view method, std::string_view path, std::string_view body,
                          const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string req;
  req += method;
  req += ' ';
  req += path;
  req += " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  bool has_type = false;
  for (const auto& [k, v] : headers) {
    req += k + ": " + v + "\r\n";
    has_type = has_type || lower(k) == "content-type";
  }
  if (!body.empty() || method == "POST") {
    if (!has_type) req += "Content-Type: application/json\r\n";
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n";
  req += body;
  return req;
}

HttpResult request(std::uint16_t port, std::string_view method, std::string_view path,
                   std::string_view body,
                   const std::vector<std::pair<std::string, std::string>>& headers) {
  TestConnection c(port);
  if (!c.connected() || !c.send_raw(build_request(method, path, body, headers))) return {};
  return c.read_response(30'000).value_or(HttpResult{});
}

std::vector<std::string> sse_data(const std::string& body) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < body.size()) {
    std::size_t e = body.find('\n', pos);
    if (e == std::string::npos) e = body.size();
    std::string_view line(body.data() + pos, e - pos);
    if (line.starts_with("data: ")) out.emplace_back(line.substr(6));
    pos = e + 1;
  }
  return out;
}

}  // namespace tandem::testing
