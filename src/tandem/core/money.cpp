#include "tandem/core/money.h"

#include <cmath>

namespace tandem::core {

std::int64_t cost_pico_usd(const Price& price, std::int64_t prompt_tokens,
                           std::int64_t completion_tokens) {
  // Saturates instead of overflowing: only absurd usage reports (trillions of tokens at high
  // prices) get near the limit of ~9.2 million USD per call.
  std::int64_t a = 0, b = 0, sum = 0;
  if (__builtin_mul_overflow(prompt_tokens, price.input_micro_usd_per_mtok, &a) ||
      __builtin_mul_overflow(completion_tokens, price.output_micro_usd_per_mtok, &b) ||
      __builtin_add_overflow(a, b, &sum)) {
    return INT64_MAX;
  }
  return sum;
}

std::int64_t compute_cost_pico_usd(const Price& price, std::int64_t compute_us) {
  std::int64_t product = 0;
  if (__builtin_mul_overflow(compute_us, price.compute_micro_usd_per_hour, &product)) {
    return INT64_MAX;
  }
  return (product + 1800) / 3600;
}

std::optional<std::int64_t> parse_usd_micro(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::int64_t whole = 0;
  std::size_t i = 0;
  bool any_digit = false;
  for (; i < text.size() && text[i] != '.'; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    whole = whole * 10 + (text[i] - '0');
    if (whole > 1'000'000'000) return std::nullopt;  // a billion USD per Mtok is not a price
    any_digit = true;
  }
  std::int64_t frac = 0;
  int frac_digits = 0;
  if (i < text.size()) {
    ++i;  // skip '.'
    for (; i < text.size(); ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      if (++frac_digits > 6) return std::nullopt;
      frac = frac * 10 + (text[i] - '0');
      any_digit = true;
    }
  }
  if (!any_digit) return std::nullopt;
  for (int d = frac_digits; d < 6; ++d) frac *= 10;
  return whole * 1'000'000 + frac;
}

std::optional<std::int64_t> usd_double_to_micro(double usd) {
  if (!std::isfinite(usd) || usd < 0 || usd > 1e9) return std::nullopt;
  double micro = usd * 1e6;
  double rounded = std::round(micro);
  // A price with more than 6 decimals cannot be represented exactly: refuse rather than round.
  // The tolerance absorbs only the binary representation error of a decimal price.
  if (std::fabs(micro - rounded) > std::max(1e-6, micro * 1e-12)) return std::nullopt;
  return static_cast<std::int64_t>(rounded);
}

std::string format_usd(std::int64_t pico_usd) {
  bool negative = pico_usd < 0;
  std::uint64_t v = negative ? static_cast<std::uint64_t>(-(pico_usd + 1)) + 1
                             : static_cast<std::uint64_t>(pico_usd);
  std::uint64_t whole = v / 1'000'000'000'000ULL;
  std::uint64_t frac = v % 1'000'000'000'000ULL;
  std::string out = negative ? "-" : "";
  out += std::to_string(whole);
  if (frac != 0) {
    std::string digits = std::to_string(frac);
    digits.insert(0, 12 - digits.size(), '0');
    while (!digits.empty() && digits.back() == '0') digits.pop_back();
    out += '.';
    out += digits;
  }
  return out;
}

}  // namespace tandem::core
