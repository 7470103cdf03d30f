#pragma once
// Exact money arithmetic. Prices are held as integer micro-USD per million tokens and costs as
// integer pico-USD (1e-12 USD): tokens * (micro-USD per Mtok) is then exactly pico-USD, with no
// floating-point rounding anywhere between the upstream's token counts and the reported cost.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tandem::core {

struct Price {
  std::int64_t input_micro_usd_per_mtok = 0;
  std::int64_t output_micro_usd_per_mtok = 0;
  // Local models: what an hour of the machine's compute costs, charged by measured decode time.
  std::int64_t compute_micro_usd_per_hour = 0;
  // A fixed price per call, on top of the token prices (replayed models that record
  // correctness only are priced this way).
  std::int64_t request_micro_usd = 0;
};

// Cost of a call in pico-USD (saturating at INT64_MAX rather than overflowing).
std::int64_t cost_pico_usd(const Price& price, std::int64_t prompt_tokens,
                           std::int64_t completion_tokens);

// Cost of `compute_us` microseconds at a price per hour, in pico-USD, rounded to the nearest:
// us * (micro-USD/h) * 1e6 pico/micro / 3.6e9 us/h = us * (micro-USD/h) / 3600.
std::int64_t compute_cost_pico_usd(const Price& price, std::int64_t compute_us);

// "0.15" -> 150000. Accepts up to 6 decimals; rejects signs, exponents and garbage.
std::optional<std::int64_t> parse_usd_micro(std::string_view text);

// A TOML/JSON number of USD to micro-USD; nullopt when negative, not finite, or finer than 1e-6.
std::optional<std::int64_t> usd_double_to_micro(double usd);

// Pico-USD as a plain decimal string without trailing zeros: 1500000 -> "0.0000015".
std::string format_usd(std::int64_t pico_usd);

}  // namespace tandem::core
