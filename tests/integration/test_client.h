#pragma once
// A deliberately plain blocking HTTP/1.1 client over POSIX sockets for the integration tests:
// it can send anything (malformed requests, partial headers, pipelined requests) and parses
// responses, including chunked bodies with trailers.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::testing {

struct HttpResult {
  int status = 0;
  std::map<std::string, std::string> headers;   // lower-case names
  std::map<std::string, std::string> trailers;  // lower-case names
  std::string body;                             // de-chunked
  bool complete = false;  // the whole message arrived (chunked: the final chunk was seen)

  std::string header(const std::string& name) const;
};

class TestConnection {
 public:
  explicit TestConnection(std::uint16_t port);
  ~TestConnection();
  TestConnection(const TestConnection&) = delete;
  TestConnection& operator=(const TestConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  bool send_raw(std::string_view bytes);
  // Reads one response; nullopt when the connection closed (or timed out) before a status line.
  // A response cut off mid-body is returned with complete == false.
  std::optional<HttpResult> read_response(int timeout_ms = 10'000);
  // Reads the response head and then body bytes as they arrive, until `stop` returns true for
  // the body read so far; for tests that act in the middle of a stream.
  std::optional<HttpResult> read_until(bool (*stop)(const std::string& body),
                                       int timeout_ms = 10'000);
  // True when the peer closes the connection within timeout_ms (reads and drops data meanwhile).
  bool wait_closed(int timeout_ms);
  // Everything the peer sends until it closes the connection (or the timeout).
  std::string read_to_close(int timeout_ms);
  void close();

 private:
  bool fill(int timeout_ms);  // reads more into buffer_; false on close/timeout/error
  int fd_ = -1;
  std::string buffer_;
};

std::string build_request(std::string_view method, std::string_view path, std::string_view body,
                          const std::vector<std::pair<std::string, std::string>>& headers = {});

// One request on a fresh connection.
HttpResult request(std::uint16_t port, std::string_view method, std::string_view path,
                   std::string_view body = {},
                   const std::vector<std::pair<std::string, std::string>>& headers = {});

// The SSE "data:" payloads of a body, in order.
std::vector<std::string> sse_data(const std::string& body);

}  // namespace tandem::testing
