#include "tandem/http/waiter.h"

#include <boost/asio/post.hpp>

namespace tandem::http {

std::function<void()> Waiter::waker() {
  std::weak_ptr<Waiter> weak = weak_from_this();
  Executor executor = timer_.get_executor();
  return [weak, executor] {
    asio::post(executor, [weak] {
      if (auto self = weak.lock()) {
        self->signalled_ = true;
        self->timer_.cancel();
      }
    });
  };
}

Task<bool> Waiter::wait(Clock::time_point deadline) {
  if (!signalled_) {
    timer_.expires_at(deadline);
    co_await timer_.async_wait(use_task);
  }
  signalled_ = false;
  co_return Clock::now() < deadline;
}

}  // namespace tandem::http
