#pragma once
// How long to wait before the next attempt on the same route: exponential backoff with jitter,
// or the upstream's Retry-After when it asks for a wait we are willing to make.
#include <chrono>
#include <cstdint>
#include <optional>

namespace tandem::routing {

struct RetryPolicy {
  int max_retries = 2;
  std::chrono::milliseconds base_delay{100};
  std::chrono::milliseconds max_delay{2'000};
};

// The delay before retry number `retry` (0 for the first retry). `unit_random` in [0, 1) spreads
// concurrent retries; nullopt means: do not retry on this route (out of retries, or the upstream
// asked for a longer wait than max_delay), fall back instead.
std::optional<std::chrono::milliseconds> next_retry_delay(
    const RetryPolicy& policy, int retry, std::optional<std::chrono::milliseconds> retry_after,
    double unit_random);

}  // namespace tandem::routing
