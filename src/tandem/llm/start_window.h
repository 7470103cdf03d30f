#pragma once

#include <chrono>
#include <cstddef>

namespace tandem::llm {

// How long an idle engine waits for more requests before its first step, so that a client's
// concurrent calls start in one batch. Without it the first prompt is decoded alone, the others
// wait for that whole step and are then decoded in the next one while the first generates a
// single token: on a CPU a short prompt's step takes hundreds of milliseconds.
//
// Requests reach the engine one by one, each after the network thread has parsed it, rendered
// its chat template and tokenised it (one to ten milliseconds apart). The engine
// waits up to `gap` for each next arrival and stops at `budget` after the first: a tenth of the
// time decoding the waiting prompts is expected to take, at most `max`. A lone request on a fast
// machine thus waits a tenth of its own first step at most, and never more than `gap`.
struct StartWindow {
  std::chrono::microseconds gap{0};
  std::chrono::microseconds budget{0};
};

// `seconds_per_prompt_token`: measured on earlier steps; 0 before the first, when `max` applies.
StartWindow start_window(std::size_t waiting_prompt_tokens, double seconds_per_prompt_token,
                         double gap_ms, double max_ms);

}  // namespace tandem::llm
