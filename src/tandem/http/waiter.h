#pragma once
// Resumes a coroutine on its own io_context when another thread reports progress: the bridge
// from the threads that own models (the local LLM scheduler, the task worker pool) back to the
// network thread that waits for their answer.
#include <functional>
#include <memory>

#include "tandem/http/client.h"

namespace tandem::http {

class Waiter : public std::enable_shared_from_this<Waiter> {
 public:
  explicit Waiter(Executor executor) : timer_(executor) {}
  // For the producer thread: schedules the wake-up on the waiter's io_context. Safe to call after
  // the waiter is gone (it holds a weak reference).
  std::function<void()> waker();
  // Interrupts a wait (a cancel hook), on the waiter's own thread.
  void interrupt() { timer_.cancel(); }
  // Until woken, interrupted, or the deadline; false at the deadline.
  Task<bool> wait(Clock::time_point deadline);

 private:
  Timer timer_;
  bool signalled_ = false;
};

}  // namespace tandem::http
