#include "tandem/llm/start_window.h"

#include <gtest/gtest.h>

namespace tandem::llm {
namespace {

using std::chrono::microseconds;

TEST(StartWindow, BeforeAnyMeasurementTheConfiguredLimitsApply) {
  StartWindow w = start_window(100, 0.0, 5, 25);
  EXPECT_EQ(w.gap, microseconds(5000));
  EXPECT_EQ(w.budget, microseconds(25000));
}

TEST(StartWindow, ATenthOfTheExpectedFirstStepAtMost) {
  // 40 tokens at 10 ms each: a 400 ms step, so 40 ms, capped at 25.
  EXPECT_EQ(start_window(40, 0.010, 5, 25).budget, microseconds(25000));
  // 40 tokens at 0.5 ms each (a fast machine): a 20 ms step, so 2 ms, and the gap shrinks to it.
  StartWindow fast = start_window(40, 0.0005, 5, 25);
  EXPECT_EQ(fast.budget, microseconds(2000));
  EXPECT_EQ(fast.gap, microseconds(2000));
  // More waiting prompts: a longer first step, a longer window.
  EXPECT_EQ(start_window(200, 0.0005, 5, 25).budget, microseconds(10000));
}

TEST(StartWindow, ZeroOrNegativeLimitsMeanNoWait) {
  EXPECT_EQ(start_window(40, 0.0, 0, 25).gap, microseconds(0));
  EXPECT_EQ(start_window(40, 0.0, 5, 0).budget, microseconds(0));
  EXPECT_EQ(start_window(40, 0.0, 5, 0).gap, microseconds(0));
  EXPECT_EQ(start_window(40, 0.0, -3, -1).budget, microseconds(0));
}

}  // namespace
}  // namespace tandem::llm
