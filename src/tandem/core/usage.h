#pragma once
// Token usage of one upstream call, as the upstream reported it.
#include <cstdint>

namespace tandem::core {

struct Usage {
  bool known = false;  // false when the upstream did not report usage
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t total_tokens = 0;
  // Microseconds of local compute the call used (local models only; "tandem_compute_us").
  std::int64_t compute_us = 0;
  // The cost the call was recorded with, in pico-USD (replayed answers); -1: price the tokens.
  std::int64_t recorded_cost_pico_usd = -1;
};

}  // namespace tandem::core
