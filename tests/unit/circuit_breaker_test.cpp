#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "tandem/routing/circuit_breaker.h"

using namespace tandem::routing;
using std::chrono::milliseconds;
using Admission = CircuitBreaker::Admission;
using State = CircuitBreaker::State;

namespace {

const CircuitBreaker::Clock::time_point t0 =
    CircuitBreaker::Clock::time_point{} + std::chrono::hours(1);

CircuitBreaker::Clock::time_point at(int ms) {
  return t0 + milliseconds(ms);
}

// A breaker with threshold 3 and 1 s cooldown, opened at t0.
class OpenedBreaker : public CircuitBreaker {
 public:
  OpenedBreaker() : CircuitBreaker(3, milliseconds(1000)) {
    for (int i = 0; i < 3; ++i) record_failure(t0);
  }
};

}  // namespace

TEST(CircuitBreaker, StartsClosedAndAdmits) {
  CircuitBreaker b(3, milliseconds(1000));
  EXPECT_EQ(b.state(t0), State::closed);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(b.admit(at(i)), Admission::allowed);
}

TEST(CircuitBreaker, OpensAfterThresholdConsecutiveFailures) {
  CircuitBreaker b(3, milliseconds(1000));
  b.record_failure(t0);
  b.record_failure(t0);
  EXPECT_EQ(b.state(t0), State::closed);
  EXPECT_EQ(b.admit(t0), Admission::allowed);
  b.record_failure(t0);
  EXPECT_EQ(b.state(t0), State::open);
  EXPECT_EQ(b.admit(t0), Admission::denied);
}

TEST(CircuitBreaker, ThresholdOfOneOpensOnFirstFailure) {
  CircuitBreaker b(1, milliseconds(10));
  b.record_failure(t0);
  EXPECT_EQ(b.admit(t0), Admission::denied);
}

TEST(CircuitBreaker, SuccessResetsTheFailureCount) {
  CircuitBreaker b(3, milliseconds(1000));
  b.record_failure(t0);
  b.record_failure(t0);
  b.record_success();
  b.record_failure(t0);
  b.record_failure(t0);
  EXPECT_EQ(b.state(t0), State::closed);
  EXPECT_EQ(b.admit(t0), Admission::allowed);
  b.record_failure(t0);
  EXPECT_EQ(b.state(t0), State::open);
}

TEST(CircuitBreaker, DeniesWhileOpen) {
  OpenedBreaker b;
  EXPECT_EQ(b.admit(at(0)), Admission::denied);
  EXPECT_EQ(b.admit(at(500)), Admission::denied);
  EXPECT_EQ(b.admit(at(999)), Admission::denied);
  EXPECT_EQ(b.state(at(999)), State::open);
}

TEST(CircuitBreaker, AdmitsExactlyOneProbeAfterCooldown) {
  OpenedBreaker b;
  EXPECT_EQ(b.state(at(1000)), State::half_open);
  EXPECT_EQ(b.admit(at(1000)), Admission::probe);
  // While the probe is out, everybody else is denied, however late.
  EXPECT_EQ(b.admit(at(1000)), Admission::denied);
  EXPECT_EQ(b.admit(at(5000)), Admission::denied);
  EXPECT_EQ(b.admit(at(100000)), Admission::denied);
}

TEST(CircuitBreaker, ProbeSuccessCloses) {
  OpenedBreaker b;
  ASSERT_EQ(b.admit(at(1500)), Admission::probe);
  b.record_success(Admission::probe);
  EXPECT_EQ(b.state(at(1500)), State::closed);
  EXPECT_EQ(b.admit(at(1500)), Admission::allowed);
  EXPECT_EQ(b.admit(at(1501)), Admission::allowed);
  // The count starts over: it takes `threshold` failures to open again.
  b.record_failure(at(1600));
  b.record_failure(at(1600));
  EXPECT_EQ(b.admit(at(1600)), Admission::allowed);
  b.record_failure(at(1600));
  EXPECT_EQ(b.admit(at(1600)), Admission::denied);
}

TEST(CircuitBreaker, LateOutcomesOfEarlierRequestsDoNotDecideTheProbe) {
  OpenedBreaker b;
  ASSERT_EQ(b.admit(at(1500)), Admission::probe);
  // Requests admitted before the circuit opened finish now: they neither close the circuit nor
  // let a second probe through.
  b.record_success();
  EXPECT_EQ(b.admit(at(1500)), Admission::denied);
  b.record_failure(at(1500));
  EXPECT_EQ(b.admit(at(1600)), Admission::denied);
  b.record_success(Admission::probe);
  EXPECT_EQ(b.admit(at(1600)), Admission::allowed);
}

TEST(CircuitBreaker, ProbeFailureReopensForAnotherCooldown) {
  OpenedBreaker b;
  ASSERT_EQ(b.admit(at(1500)), Admission::probe);
  b.record_failure(at(1500), Admission::probe);
  EXPECT_EQ(b.state(at(1500)), State::open);
  EXPECT_EQ(b.admit(at(1500)), Admission::denied);
  EXPECT_EQ(b.admit(at(2499)), Admission::denied);  // cooldown counts from the probe's failure
  EXPECT_EQ(b.state(at(2500)), State::half_open);
  EXPECT_EQ(b.admit(at(2500)), Admission::probe);
  EXPECT_EQ(b.admit(at(2500)), Admission::denied);
}

TEST(CircuitBreaker, ProbeFailureReopensEvenWithAHighThreshold) {
  CircuitBreaker b(100, milliseconds(50));
  for (int i = 0; i < 100; ++i) b.record_failure(t0);
  ASSERT_EQ(b.admit(at(50)), Admission::probe);
  b.record_failure(at(50), Admission::probe);  // one failure, far below the threshold: the probe's
  EXPECT_EQ(b.admit(at(50)), Admission::denied);
  EXPECT_EQ(b.state(at(99)), State::open);
}

TEST(CircuitBreaker, AbandonedProbeLetsAnotherProbeGo) {
  OpenedBreaker b;
  ASSERT_EQ(b.admit(at(1000)), Admission::probe);
  EXPECT_EQ(b.admit(at(1000)), Admission::denied);
  b.abandon_probe();
  EXPECT_EQ(b.state(at(1000)), State::half_open);  // still not closed
  EXPECT_EQ(b.admit(at(1001)), Admission::probe);
  EXPECT_EQ(b.admit(at(1001)), Admission::denied);
  b.record_success(Admission::probe);
  EXPECT_EQ(b.admit(at(1002)), Admission::allowed);
}

TEST(CircuitBreaker, ConcurrentAdmitsYieldASingleProbe) {
  OpenedBreaker b;
  std::atomic<int> probes{0}, denied{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        auto a = b.admit(at(2000));
        if (a == Admission::probe) ++probes;
        if (a == Admission::denied) ++denied;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(probes.load(), 1);
  EXPECT_EQ(denied.load(), 8 * 1000 - 1);
}

TEST(CircuitBreaker, FailuresThatAreNotTheRoutesNeitherCountNorResetButEndAProbe) {
  CircuitBreaker b(2, milliseconds(1000));
  b.record_failure(t0, Admission::allowed, FailureKind::server_error);
  b.record_failure(t0, Admission::allowed, FailureKind::client_error);  // the request's fault
  EXPECT_EQ(b.state(t0), State::closed);
  b.record_failure(t0, Admission::allowed, FailureKind::timeout);
  EXPECT_EQ(b.state(t0), State::open) << "two health failures in a row, the 400 between them aside";

  ASSERT_EQ(b.admit(at(1000)), Admission::probe);
  b.record_failure(at(1000), Admission::probe, FailureKind::context_length);  // it answered
  EXPECT_EQ(b.state(at(1000)), State::closed);
}

TEST(CircuitBreaker, StateNames) {
  EXPECT_STREQ(to_string(State::closed), "closed");
  EXPECT_STREQ(to_string(State::open), "open");
  EXPECT_STREQ(to_string(State::half_open), "half_open");
}
