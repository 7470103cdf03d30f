#pragma once
// HTTP/1.1 server: one io_context and one SO_REUSEPORT acceptor per thread (shared nothing), a
// coroutine per connection, keep-alive, limits on header and body size and on read and idle
// time, and a graceful stop that lets in-flight requests finish.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "tandem/http/message.h"

namespace tandem::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: pick a free port (see Server::port)
  int threads = 1;
  std::size_t max_body_bytes = 4 << 20;
  std::size_t max_header_bytes = 16 << 10;
  Millis read_timeout{30'000};
  Millis idle_timeout{60'000};
  Millis write_timeout{30'000};
  Millis drain_timeout{15'000};
};

class Server {
 public:
  Server(ServerOptions options, HandlerFactory factory);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts the threads. Throws std::runtime_error when the address cannot be bound.
  void start();
  std::uint16_t port() const;
  // Stops accepting, closes idle connections, waits up to drain_timeout for in-flight requests,
  // then stops the threads. Safe to call from any thread, more than once.
  void stop();
  // Blocks until stop() has completed.
  void wait();
  int open_connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tandem::http
