#pragma once
// Prices one call's usage. (Usage itself is read from the upstream's answer by
// providers::scan_answer, in the same pass that checks the answer.)
#include <cstdint>

#include "tandem/core/money.h"
#include "tandem/core/usage.h"

namespace tandem::ledger {

struct Charge {
  core::Usage usage;
  std::int64_t cost_pico_usd = 0;
};

// Unknown usage costs nothing: it is counted as missing, never guessed.
Charge charge(const core::Usage& usage, const core::Price& price);

}  // namespace tandem::ledger
