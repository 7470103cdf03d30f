#pragma once
// How a training run reports where it is: the CLI draws a progress bar from it, tests ignore it.
#include <cstddef>
#include <functional>
#include <string>

namespace tandem::models {

struct TrainProgress {
  std::string phase;      // "epoch 3/10", "fitting temperature", ...
  std::size_t done = 0;   // units of work done in this phase (examples, batches, sweeps)
  std::size_t total = 0;  // of this many (0: unknown)
  std::string detail;     // e.g. "loss 0.4213" (may be empty)
};

// May be empty (no reporting). Called from the training thread.
using ProgressFn = std::function<void(const TrainProgress&)>;

}  // namespace tandem::models
