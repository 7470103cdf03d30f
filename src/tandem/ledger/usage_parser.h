#pragma once
// Reads the "usage" object of an OpenAI-compatible response, and prices it.
#include <boost/json/fwd.hpp>
#include <optional>

#include "tandem/core/money.h"
#include "tandem/core/usage.h"

namespace tandem::ledger {

// Usage from a response object (chat completion, stream chunk or embeddings response). Returns an
// unknown Usage when "usage" is absent or null; nullopt when it is present but malformed.
std::optional<core::Usage> parse_usage(const boost::json::object& response);

struct Charge {
  core::Usage usage;
  std::int64_t cost_pico_usd = 0;
};

Charge charge(const core::Usage& usage, const core::Price& price);

}  // namespace tandem::ledger
