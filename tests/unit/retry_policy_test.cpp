#include <gtest/gtest.h>

#include "tandem/routing/retry_policy.h"

using namespace tandem::routing;
using std::chrono::milliseconds;

namespace {

RetryPolicy policy(int max_retries, int base_ms, int max_ms) {
  return RetryPolicy{max_retries, milliseconds(base_ms), milliseconds(max_ms)};
}

}  // namespace

TEST(RetryPolicy, ExponentialGrowthWithinJitterBounds) {
  RetryPolicy p = policy(6, 100, 100'000);
  for (int retry = 0; retry < 6; ++retry) {
    long long ceiling = 100LL << retry;
    for (double r : {0.0, 0.1, 0.25, 0.5, 0.75, 0.999999}) {
      auto d = next_retry_delay(p, retry, std::nullopt, r);
      ASSERT_TRUE(d.has_value()) << "retry " << retry;
      // "Equal jitter": at least half the ceiling, never more than the ceiling.
      EXPECT_GE(d->count(), ceiling / 2) << "retry " << retry << " r " << r;
      EXPECT_LE(d->count(), ceiling) << "retry " << retry << " r " << r;
    }
    EXPECT_EQ(next_retry_delay(p, retry, std::nullopt, 0.0), milliseconds(ceiling / 2));
    EXPECT_EQ(next_retry_delay(p, retry, std::nullopt, 0.5), milliseconds(ceiling * 3 / 4));
  }
}

TEST(RetryPolicy, JitterIsMonotonicInTheRandomValue) {
  RetryPolicy p = policy(3, 1000, 10'000);
  long long previous = -1;
  for (int i = 0; i < 100; ++i) {
    auto d = next_retry_delay(p, 1, std::nullopt, i / 100.0);
    ASSERT_TRUE(d);
    EXPECT_GE(d->count(), previous);
    previous = d->count();
  }
}

TEST(RetryPolicy, OutOfRangeRandomValuesAreClamped) {
  RetryPolicy p = policy(3, 100, 10'000);
  EXPECT_EQ(next_retry_delay(p, 0, std::nullopt, -5.0), milliseconds(50));
  EXPECT_EQ(next_retry_delay(p, 0, std::nullopt, 7.0), milliseconds(100));
}

TEST(RetryPolicy, CappedAtMaxDelay) {
  RetryPolicy p = policy(10, 100, 1000);
  for (int retry = 4; retry < 10; ++retry) {  // 100 << 4 = 1600 > 1000
    EXPECT_EQ(next_retry_delay(p, retry, std::nullopt, 0.0), milliseconds(500)) << retry;
    auto high = next_retry_delay(p, retry, std::nullopt, 0.999);
    ASSERT_TRUE(high);
    EXPECT_LE(*high, milliseconds(1000));
    EXPECT_GE(*high, milliseconds(999));
  }
  // Large retry numbers neither overflow nor escape the cap.
  RetryPolicy many = policy(1'000'000, 100, 2000);
  for (int retry : {30, 63, 64, 1000, 999'999}) {
    auto d = next_retry_delay(many, retry, std::nullopt, 0.5);
    ASSERT_TRUE(d) << retry;
    EXPECT_EQ(*d, milliseconds(1500)) << retry;
  }
}

TEST(RetryPolicy, NoRetryPastMaxRetries) {
  RetryPolicy p = policy(2, 100, 1000);
  EXPECT_TRUE(next_retry_delay(p, 0, std::nullopt, 0.5));
  EXPECT_TRUE(next_retry_delay(p, 1, std::nullopt, 0.5));
  EXPECT_FALSE(next_retry_delay(p, 2, std::nullopt, 0.5));
  EXPECT_FALSE(next_retry_delay(p, 3, std::nullopt, 0.5));
  // Retry-After does not buy extra attempts.
  EXPECT_FALSE(next_retry_delay(p, 2, milliseconds(10), 0.5));

  RetryPolicy none = policy(0, 100, 1000);
  EXPECT_FALSE(next_retry_delay(none, 0, std::nullopt, 0.5));
  EXPECT_FALSE(next_retry_delay(none, 0, milliseconds(0), 0.5));
}

TEST(RetryPolicy, RetryAfterIsHonouredUpToMaxDelay) {
  RetryPolicy p = policy(3, 100, 2000);
  // Used as is: no jitter, no exponential growth.
  EXPECT_EQ(next_retry_delay(p, 0, milliseconds(1500), 0.0), milliseconds(1500));
  EXPECT_EQ(next_retry_delay(p, 2, milliseconds(1500), 0.99), milliseconds(1500));
  EXPECT_EQ(next_retry_delay(p, 0, milliseconds(2000), 0.5), milliseconds(2000));
  EXPECT_EQ(next_retry_delay(p, 0, milliseconds(0), 0.5), milliseconds(0));
}

TEST(RetryPolicy, RetryAfterLongerThanMaxDelayIsRefused) {
  RetryPolicy p = policy(3, 100, 2000);
  EXPECT_EQ(next_retry_delay(p, 0, milliseconds(2001), 0.5), std::nullopt);
  EXPECT_EQ(next_retry_delay(p, 0, milliseconds(60'000), 0.5), std::nullopt);
}

TEST(RetryPolicy, ZeroBaseDelayRetriesImmediately) {
  RetryPolicy p = policy(3, 0, 2000);
  EXPECT_EQ(next_retry_delay(p, 0, std::nullopt, 0.9), milliseconds(0));
  EXPECT_EQ(next_retry_delay(p, 2, std::nullopt, 0.9), milliseconds(0));
}
