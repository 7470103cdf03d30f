#include <gtest/gtest.h>

#include "tandem/ledger/charge.h"
#include "tandem/providers/openai_answer.h"

using namespace tandem;
using tandem::ledger::charge;

namespace {

// The usage of an answer as the gateway reads it (providers::scan_answer); nullopt when the
// answer carries a malformed usage member.
std::optional<core::Usage> usage_of(std::string_view response_json) {
  auto scan = providers::scan_answer(response_json);
  if (!scan || scan->usage_malformed) return std::nullopt;
  return scan->usage;
}

}  // namespace

TEST(Usage, Present) {
  auto u = usage_of(
      R"({"id":"x","usage":{"prompt_tokens":12,"completion_tokens":30,"total_tokens":42}})");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->known);
  EXPECT_EQ(u->prompt_tokens, 12);
  EXPECT_EQ(u->completion_tokens, 30);
  EXPECT_EQ(u->total_tokens, 42);
}

TEST(Usage, EmbeddingsUsageHasNoCompletionTokens) {
  auto u = usage_of(R"({"usage":{"prompt_tokens":8,"total_tokens":8}})");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->known);
  EXPECT_EQ(u->prompt_tokens, 8);
  EXPECT_EQ(u->completion_tokens, 0);
  EXPECT_EQ(u->total_tokens, 8);
}

TEST(Usage, TotalIsComputedFromTheParts) {
  auto u = usage_of(R"({"usage":{"prompt_tokens":5,"completion_tokens":7}})");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->total_tokens, 12);
  // A reported total that disagrees does not override the sum that is billed.
  u = usage_of(R"({"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":999}})");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->total_tokens, 12);
}

TEST(Usage, ExtraFieldsAreIgnored) {
  auto u = usage_of(R"({"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12,
      "prompt_tokens_details":{"cached_tokens":2},"completion_tokens_details":null}})");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->known);
  EXPECT_EQ(u->prompt_tokens, 5);
}

TEST(Usage, AbsentOrNullIsUnknown) {
  for (const char* json : {R"({"id":"x"})", R"({"usage":null})", "{}"}) {
    auto u = usage_of(json);
    ASSERT_TRUE(u) << json;
    EXPECT_FALSE(u->known) << json;
    EXPECT_EQ(u->prompt_tokens, 0);
    EXPECT_EQ(u->completion_tokens, 0);
    EXPECT_EQ(u->total_tokens, 0);
  }
}

TEST(Usage, ZeroIsKnown) {
  auto u = usage_of(R"({"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}})");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->known);
}

TEST(Usage, MalformedIsNullopt) {
  for (const char* json : {
           R"({"usage":{"prompt_tokens":-1,"completion_tokens":2}})",
           R"({"usage":{"prompt_tokens":1,"completion_tokens":-2}})",
           R"({"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":-3}})",
           R"({"usage":{"prompt_tokens":"10","completion_tokens":2}})",
           R"({"usage":{"prompt_tokens":10,"completion_tokens":"2"}})",
           R"({"usage":{"prompt_tokens":10,"total_tokens":"12"}})",
           R"({"usage":{"completion_tokens":2,"total_tokens":2}})",
           R"({"usage":{"prompt_tokens":null,"completion_tokens":2}})",
           R"({"usage":{"prompt_tokens":1.5,"completion_tokens":2}})",
           R"({"usage":{"prompt_tokens":true}})",
           R"({"usage":{"prompt_tokens":18446744073709551615}})",
           R"({"usage":{"prompt_tokens":1099511627776}})",  // 2^40
           R"({"usage":{}})",
           R"({"usage":"12 tokens"})",
           R"({"usage":[12,30]})",
           R"({"usage":42})",
       }) {
    EXPECT_FALSE(usage_of(json).has_value()) << json;
  }
}

TEST(Usage, LargestAcceptedCount) {
  auto u = usage_of(R"({"usage":{"prompt_tokens":1099511627775}})");  // 2^40 - 1
  ASSERT_TRUE(u);
  EXPECT_EQ(u->prompt_tokens, 1099511627775LL);
}

TEST(Usage, ChargeIsExact) {
  core::Price price{150000, 600000};  // $0.15 / $0.60 per million tokens
  core::Usage usage{true, 1000, 500, 1500};
  ledger::Charge c = charge(usage, price);
  EXPECT_EQ(c.cost_pico_usd, 150000LL * 1000 + 600000LL * 500);
  EXPECT_EQ(core::format_usd(c.cost_pico_usd), "0.00045");
  EXPECT_EQ(c.usage.prompt_tokens, 1000);
  EXPECT_EQ(c.usage.completion_tokens, 500);
  EXPECT_EQ(c.usage.total_tokens, 1500);
  EXPECT_TRUE(c.usage.known);

  // One token at $0.000001 per million is one pico-dollar.
  EXPECT_EQ(charge(core::Usage{true, 1, 0, 1}, core::Price{1, 0}).cost_pico_usd, 1);
  // Output tokens are priced with the output price.
  EXPECT_EQ(charge(core::Usage{true, 0, 3, 3}, core::Price{1, 7}).cost_pico_usd, 21);
  EXPECT_EQ(charge(core::Usage{true, 7, 0, 7}, core::Price{0, 1'000'000}).cost_pico_usd, 0);
}

TEST(Usage, ParsedUsageIsChargedExactly) {
  auto u = usage_of(R"({"usage":{"prompt_tokens":123457,"completion_tokens":9876}})");
  ASSERT_TRUE(u);
  ledger::Charge c = charge(*u, core::Price{2'500'000, 10'000'000});  // $2.50 / $10.00
  // 123457 * 2.5e-6 + 9876 * 1e-5 = 0.3086425 + 0.09876 = 0.4074025 USD
  EXPECT_EQ(core::format_usd(c.cost_pico_usd), "0.4074025");
}

TEST(Usage, UnknownUsageCostsNothing) {
  ledger::Charge c = charge(core::Usage{}, core::Price{150000, 600000});
  EXPECT_EQ(c.cost_pico_usd, 0);
  EXPECT_FALSE(c.usage.known);
  // Even if counts were filled in, unknown usage is not billed.
  c = charge(core::Usage{false, 100, 100, 200}, core::Price{150000, 600000});
  EXPECT_EQ(c.cost_pico_usd, 0);
}

TEST(Usage, LargestAcceptedUsageDoesNotOverflowTheCost) {
  // An upstream may report any count below 2^40; at $10/Mtok output that is ~1.1e19 pico-USD.
  auto u = usage_of(R"({"usage":{"prompt_tokens":0,"completion_tokens":1099511627775}})");
  if (!u) return;  // refusing such a report would be fine too
  ledger::Charge c = charge(*u, core::Price{0, 10'000'000});
  EXPECT_GE(c.cost_pico_usd, 0);
}

TEST(Usage, LocalComputeTimeIsReadAndCharged) {
  auto u = usage_of(R"({"usage":{"prompt_tokens":10,"completion_tokens":4,"total_tokens":14,
      "prompt_tokens_details":{"cached_tokens":9},"tandem_compute_us":2500}})");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->compute_us, 2500);
  core::Price price;
  price.input_micro_usd_per_mtok = 1'000'000;
  price.compute_micro_usd_per_hour = 3'600'000;
  // 10 tokens at 1 USD/Mtok = 10e6 pico-USD; 2500 us at 3.6 USD/h = 2.5e6 pico-USD.
  EXPECT_EQ(charge(*u, price).cost_pico_usd, 12'500'000);
  // A negative or absurd compute time is not charged.
  u = usage_of(R"({"usage":{"prompt_tokens":1,"completion_tokens":1,"tandem_compute_us":-5}})");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->compute_us, 0);
}
