#include "tandem/ledger/charge.h"

namespace tandem::ledger {

Charge charge(const core::Usage& usage, const core::Price& price) {
  Charge c;
  c.usage = usage;
  if (usage.known) {
    c.cost_pico_usd = core::cost_pico_usd(price, usage.prompt_tokens, usage.completion_tokens);
  }
  return c;
}

}  // namespace tandem::ledger
