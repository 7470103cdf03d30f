#pragma once
// A circuit breaker for one route, shared by all server threads. After `threshold` consecutive
// failures it opens for `cooldown`; then one probe request is let through (half-open): its success
// closes the circuit, its failure opens it again.
#include <chrono>
#include <mutex>

#include "tandem/routing/failure.h"

namespace tandem::routing {

class CircuitBreaker {
 public:
  using Clock = std::chrono::steady_clock;
  enum class State { closed, open, half_open };
  enum class Admission { denied, allowed, probe };

  CircuitBreaker(int threshold, std::chrono::milliseconds cooldown);

  Admission admit(Clock::time_point now);
  // Outcomes, with the admission the request got: only the probe's outcome decides a half-open
  // circuit; requests admitted before the circuit opened cannot close it or free the probe.
  void record_success(Admission how = Admission::allowed);
  void record_failure(Clock::time_point now, Admission how = Admission::allowed);
  // An attempt that failed with `kind`: a failure when it says something about the route's
  // health (counts_against_health); otherwise the route answered as a healthy one would, which
  // leaves the count alone and ends a probe.
  void record_failure(Clock::time_point now, Admission how, FailureKind kind);
  // A probe whose outcome will never be known (cancelled): let another probe go.
  void abandon_probe();
  State state(Clock::time_point now) const;

 private:
  mutable std::mutex mutex_;
  int threshold_;
  std::chrono::milliseconds cooldown_;
  int consecutive_failures_ = 0;
  bool open_ = false;
  bool probe_in_flight_ = false;
  Clock::time_point open_until_{};
};

const char* to_string(CircuitBreaker::State state);

}  // namespace tandem::routing
