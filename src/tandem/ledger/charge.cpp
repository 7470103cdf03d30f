#include "tandem/ledger/charge.h"

namespace tandem::ledger {

Charge charge(const core::Usage& usage, const core::Price& price) {
  Charge c;
  c.usage = usage;
  if (usage.recorded_cost_pico_usd >= 0) {
    // A replayed answer costs what it cost when it was recorded.
    c.cost_pico_usd = usage.recorded_cost_pico_usd;
  } else if (usage.known) {
    c.cost_pico_usd = core::cost_pico_usd(price, usage.prompt_tokens, usage.completion_tokens);
    std::int64_t compute = core::compute_cost_pico_usd(price, usage.compute_us);
    if (__builtin_add_overflow(c.cost_pico_usd, compute, &c.cost_pico_usd)) {
      c.cost_pico_usd = INT64_MAX;
    }
  }
  if (usage.known || usage.recorded_cost_pico_usd >= 0) {
    std::int64_t fixed = price.request_micro_usd * 1'000'000;
    if (price.request_micro_usd > INT64_MAX / 1'000'000 ||
        __builtin_add_overflow(c.cost_pico_usd, fixed, &c.cost_pico_usd)) {
      c.cost_pico_usd = INT64_MAX;
    }
  }
  return c;
}

}  // namespace tandem::ledger
