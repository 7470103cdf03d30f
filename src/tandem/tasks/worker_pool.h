#pragma once
// The threads that run tailored models. Network threads never run inference: they parse the
// request, post a job here and wait (http::Waiter) for its answer, so a slow model never stalls
// the connections sharing a network thread (llama.cpp's server does the same with its slots).
//
// The queue is bounded: a job that finds it full is refused at once (the caller answers 503),
// which keeps memory and latency bounded under overload instead of queueing without limit.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tandem::tasks {

class WorkerPool {
 public:
  // `threads` 0: one per core.
  WorkerPool(int threads, std::size_t queue_limit);
  // Runs the jobs already queued, then joins the threads.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // False when the queue is full (or the pool is stopping): the job was not taken. A job must
  // not throw (the pool would terminate); wrap the work and report errors through the result.
  bool submit(std::function<void()> job);

  int threads() const noexcept { return static_cast<int>(threads_.size()); }
  std::size_t queued() const;
  std::size_t queue_limit() const noexcept { return limit_; }

 private:
  void run();

  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> jobs_;
  std::size_t limit_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace tandem::tasks
