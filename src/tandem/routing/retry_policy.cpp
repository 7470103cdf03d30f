#include "tandem/routing/retry_policy.h"

#include <algorithm>

namespace tandem::routing {

std::optional<std::chrono::milliseconds> next_retry_delay(
    const RetryPolicy& policy, int retry, std::optional<std::chrono::milliseconds> retry_after,
    double unit_random) {
  if (retry >= policy.max_retries) return std::nullopt;
  if (retry_after) {
    if (*retry_after > policy.max_delay) return std::nullopt;
    return *retry_after;
  }
  // Exponential growth capped at max_delay, then "equal jitter": half fixed, half random.
  long long cap = policy.max_delay.count();
  long long exp = policy.base_delay.count() << std::min(retry, 20);
  long long ceiling = std::min(cap, exp);
  double jitter = std::clamp(unit_random, 0.0, 1.0);
  auto delay = static_cast<long long>(static_cast<double>(ceiling) * (0.5 + 0.5 * jitter));
  return std::chrono::milliseconds(delay);
}

}  // namespace tandem::routing
