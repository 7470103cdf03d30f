#pragma once
// Socket deadlines enforced by one sweep per io_context (every 50 ms): when a deadline passes,
// the socket's pending operations are cancelled and expired() says why. This replaces a timer per
// operation (beast::tcp_stream's way), which cost more than the rest of the I/O path on proxied
// requests (measured); the timeouts it serves are seconds long, so 50 ms of slack is harmless.
#include <chrono>

#include "tandem/http/message.h"

namespace tandem::http {

class DeadlineService;

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  Deadline(boost::asio::io_context& ioc, Socket& socket);
  ~Deadline();
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  void expires_at(Clock::time_point at) {
    at_ = at;
    expired_ = false;
  }
  void expires_after(std::chrono::milliseconds d) { expires_at(Clock::now() + d); }
  void expires_never() { at_ = Clock::time_point::max(); }
  // The sweep cancelled the socket's pending operations since the last expires_at/after.
  bool expired() const { return expired_; }

 private:
  friend class DeadlineService;
  DeadlineService& service_;
  Socket& socket_;
  Clock::time_point at_ = Clock::time_point::max();
  bool expired_ = false;
};

}  // namespace tandem::http
