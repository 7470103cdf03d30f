#pragma once
// Asynchronous HTTP/1.1 client for upstream providers: a keep-alive connection pool per upstream
// on each thread (an io_context service, so it never crosses threads), TLS with certificate and
// host-name verification, deadlines on every step, and cancellation through a CancelSignal.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "tandem/http/message.h"

namespace tandem::http {

using Clock = std::chrono::steady_clock;

struct Endpoint {
  bool tls = false;
  std::string host;
  std::uint16_t port = 80;
  std::string host_header;  // "host[:port]"
  bool verify_tls = true;
  std::string ca_file;  // extra trusted CAs (PEM), empty for the system store only
  int max_idle_connections = 64;
};

struct OutgoingRequest {
  std::string method = "POST";
  std::string target;
  Headers headers;  // Host, Content-Length and Connection are set by the client
  std::string body;
};

enum class ClientErrorKind { none, connect, tls, timeout, reset, protocol, cancelled, too_large };
const char* to_string(ClientErrorKind kind);

struct ClientError {
  ClientErrorKind kind = ClientErrorKind::none;
  std::string message;
  explicit operator bool() const { return kind != ClientErrorKind::none; }
};

// An upstream's answer whose status and headers are known; the body is read on demand. An HTTP
// response (ClientResponse below) or an in-process provider's answer (providers::LocalResponse):
// the fallback chain and the stream relay treat both alike.
class UpstreamResponse {
 public:
  virtual ~UpstreamResponse() = default;
  virtual int status() const = 0;
  virtual const Headers& headers() const = 0;
  // Appends the next part of the body to `out`; sets `done` when the body is complete.
  virtual Task<ClientError> read_some(std::string& out, bool& done, Clock::time_point deadline) = 0;
  // Reads the rest of the body; too_large when it exceeds `limit` bytes.
  virtual Task<ClientError> read_all(std::string& out, std::size_t limit,
                                     Clock::time_point deadline);
};

// A response whose status line and headers have arrived over HTTP.
class ClientResponse final : public UpstreamResponse {
 public:
  struct Impl;
  explicit ClientResponse(std::unique_ptr<Impl> impl);
  ~ClientResponse() override;  // returns the connection to its pool when read to the end

  int status() const override;
  const Headers& headers() const override;
  Task<ClientError> read_some(std::string& out, bool& done, Clock::time_point deadline) override;

 private:
  std::unique_ptr<Impl> impl_;
};

class HttpClient {
 public:
  explicit HttpClient(asio::io_context& ioc);

  struct Result {
    std::unique_ptr<UpstreamResponse> response;  // set on success
    ClientError error;
  };
  // Sends the request and waits for the response head until `deadline`. A pooled connection that
  // turns out to be closed by the upstream is replaced transparently, once.
  Task<Result> send(const Endpoint& endpoint, const OutgoingRequest& request,
                    Millis connect_timeout, Clock::time_point deadline, CancelSignal* cancel);

 private:
  asio::io_context& ioc_;
};

}  // namespace tandem::http
