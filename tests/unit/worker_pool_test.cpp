#include "tandem/tasks/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>

namespace tandem::tasks {
namespace {

TEST(WorkerPool, RunsEveryJobOnItsThreads) {
  std::atomic<int> done{0};
  {
    WorkerPool pool(3, 1000);
    EXPECT_EQ(pool.threads(), 3);
    for (int i = 0; i < 500; ++i) ASSERT_TRUE(pool.submit([&] { done.fetch_add(1); }));
  }  // the destructor runs what is queued, then joins
  EXPECT_EQ(done.load(), 500);
}

TEST(WorkerPool, RefusesWorkBeyondItsQueue) {
  WorkerPool pool(1, 2);
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::promise<void> started;
  // The one worker is held inside the first job; two more fill the queue; the fourth is refused.
  ASSERT_TRUE(pool.submit([&] {
    started.set_value();
    gate.wait();
  }));
  started.get_future().wait();
  std::atomic<int> ran{0};
  EXPECT_TRUE(pool.submit([&] { ran.fetch_add(1); }));
  EXPECT_TRUE(pool.submit([&] { ran.fetch_add(1); }));
  EXPECT_EQ(pool.queued(), 2u);
  EXPECT_FALSE(pool.submit([&] { ran.fetch_add(100); }));
  release.set_value();
  while (pool.queued() > 0) std::this_thread::yield();
  // After the queue drains there is room again.
  std::promise<void> last;
  EXPECT_TRUE(pool.submit([&] { last.set_value(); }));
  last.get_future().wait();
  EXPECT_EQ(ran.load(), 2);
}

}  // namespace
}  // namespace tandem::tasks
