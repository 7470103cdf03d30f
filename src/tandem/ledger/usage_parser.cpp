#include "tandem/ledger/usage_parser.h"

#include <boost/json.hpp>

#include "tandem/core/json_util.h"

namespace tandem::ledger {

namespace {
// A token count: a non-negative integer that fits comfortably in int64 arithmetic with prices.
bool read_count(const boost::json::object& usage, std::string_view key, std::int64_t& out,
                bool required) {
  const boost::json::value* v = core::find_member(usage, key);
  if (v == nullptr || v->is_null()) return !required;
  std::int64_t n = -1;
  if (v->is_int64())
    n = v->get_int64();
  else if (v->is_uint64() && v->get_uint64() < (1ULL << 40))
    n = static_cast<std::int64_t>(v->get_uint64());
  if (n < 0 || n >= (1LL << 40)) return false;
  out = n;
  return true;
}
}  // namespace

std::optional<core::Usage> parse_usage(const boost::json::object& response) {
  core::Usage usage;
  const boost::json::value* u = core::find_member(response, "usage");
  if (u == nullptr || u->is_null()) return usage;
  if (!u->is_object()) return std::nullopt;
  const auto& obj = u->get_object();
  if (!read_count(obj, "prompt_tokens", usage.prompt_tokens, true)) return std::nullopt;
  if (!read_count(obj, "completion_tokens", usage.completion_tokens, false)) return std::nullopt;
  usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
  std::int64_t reported_total = usage.total_tokens;
  if (!read_count(obj, "total_tokens", reported_total, false)) return std::nullopt;
  usage.known = true;
  return usage;
}

Charge charge(const core::Usage& usage, const core::Price& price) {
  Charge c;
  c.usage = usage;
  if (usage.known)
    c.cost_pico_usd = core::cost_pico_usd(price, usage.prompt_tokens, usage.completion_tokens);
  return c;
}

}  // namespace tandem::ledger
