#include "tandem/routing/circuit_breaker.h"

namespace tandem::routing {

CircuitBreaker::CircuitBreaker(int threshold, std::chrono::milliseconds cooldown)
    : threshold_(threshold), cooldown_(cooldown) {}

CircuitBreaker::Admission CircuitBreaker::admit(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (!open_) return Admission::allowed;
  if (now < open_until_ || probe_in_flight_) return Admission::denied;
  probe_in_flight_ = true;
  return Admission::probe;
}

void CircuitBreaker::record_success(Admission how) {
  std::lock_guard lock(mutex_);
  consecutive_failures_ = 0;
  if (how == Admission::probe) {
    open_ = false;
    probe_in_flight_ = false;
  }
}

void CircuitBreaker::record_failure(Clock::time_point now, Admission how) {
  std::lock_guard lock(mutex_);
  ++consecutive_failures_;
  if (how == Admission::probe) {
    open_ = true;
    open_until_ = now + cooldown_;
    probe_in_flight_ = false;
  } else if (!open_ && consecutive_failures_ >= threshold_) {
    open_ = true;
    open_until_ = now + cooldown_;
  }
}

void CircuitBreaker::record_failure(Clock::time_point now, Admission how, FailureKind kind) {
  if (counts_against_health(kind)) {
    record_failure(now, how);
  } else if (how == Admission::probe) {
    record_success(how);
  }
}

void CircuitBreaker::abandon_probe() {
  std::lock_guard lock(mutex_);
  probe_in_flight_ = false;
}

CircuitBreaker::State CircuitBreaker::state(Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  if (!open_) return State::closed;
  return now < open_until_ ? State::open : State::half_open;
}

const char* to_string(CircuitBreaker::State state) {
  switch (state) {
    case CircuitBreaker::State::closed:
      return "closed";
    case CircuitBreaker::State::open:
      return "open";
    case CircuitBreaker::State::half_open:
      return "half_open";
  }
  return "unknown";
}

}  // namespace tandem::routing
