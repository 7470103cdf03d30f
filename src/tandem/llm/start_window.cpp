#include "tandem/llm/start_window.h"

#include <algorithm>
#include <cmath>

namespace tandem::llm {

namespace {

std::chrono::microseconds micros(double ms) {
  if (!(ms > 0)) return std::chrono::microseconds{0};
  return std::chrono::microseconds{static_cast<std::int64_t>(std::llround(ms * 1000.0))};
}

}  // namespace

StartWindow start_window(std::size_t waiting_prompt_tokens, double seconds_per_prompt_token,
                         double gap_ms, double max_ms) {
  double budget_ms = std::max(0.0, max_ms);
  if (seconds_per_prompt_token > 0) {
    double expected_ms =
        static_cast<double>(waiting_prompt_tokens) * seconds_per_prompt_token * 1000.0;
    budget_ms = std::min(budget_ms, expected_ms / 10.0);
  }
  StartWindow w;
  w.budget = micros(budget_ms);
  w.gap = std::min(micros(gap_ms), w.budget);
  return w;
}

}  // namespace tandem::llm
