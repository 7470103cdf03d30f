#include "tandem/http/deadline.h"

#include <boost/asio/steady_timer.hpp>
#include <unordered_set>

namespace tandem::http {

namespace asio = boost::asio;

// Owned by the io_context, so it outlives every socket of that context.
class DeadlineService : public asio::io_context::service {
 public:
  static inline asio::io_context::id id;
  explicit DeadlineService(asio::io_context& ioc) : service(ioc), timer_(ioc) {}

  void add(Deadline* d) {
    deadlines_.insert(d);
    if (!armed_ && !shut_down_) arm();
  }
  void remove(Deadline* d) { deadlines_.erase(d); }

  void shutdown() override {
    shut_down_ = true;
    deadlines_.clear();
  }

 private:
  static constexpr auto kSweep = std::chrono::milliseconds(50);

  // The timer runs only while some socket is registered, so an idle io_context can still run out
  // of work and return.
  void arm() {
    armed_ = true;
    timer_.expires_after(kSweep);
    timer_.async_wait([this](const boost::system::error_code& ec) {
      armed_ = false;
      if (ec || shut_down_) return;
      sweep();
      if (!deadlines_.empty()) arm();
    });
  }

  void sweep() {
    auto now = Deadline::Clock::now();
    for (Deadline* d : deadlines_) {
      if (now < d->at_) continue;
      // Cancelled again on every sweep until its owner sets a new deadline: an operation that
      // was between two steps (a completion already queued) at the first cancel is caught by
      // the next one instead of running on without a deadline.
      d->expired_ = true;
      boost::system::error_code ignored;
      d->socket_.cancel(ignored);
    }
  }

  Timer timer_;
  std::unordered_set<Deadline*> deadlines_;
  bool armed_ = false;
  bool shut_down_ = false;
};

Deadline::Deadline(asio::io_context& ioc, Socket& socket)
    : service_(asio::use_service<DeadlineService>(ioc)), socket_(socket) {
  service_.add(this);
}

Deadline::~Deadline() {
  service_.remove(this);
}

}  // namespace tandem::http
