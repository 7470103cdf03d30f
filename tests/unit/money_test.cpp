#include <gtest/gtest.h>

#include "tandem/core/money.h"

using namespace tandem::core;

TEST(Money, ParsesDecimalPricesExactly) {
  EXPECT_EQ(parse_usd_micro("0.15"), 150000);
  EXPECT_EQ(parse_usd_micro("2.5"), 2500000);
  EXPECT_EQ(parse_usd_micro("10"), 10000000);
  EXPECT_EQ(parse_usd_micro("0.000001"), 1);
  EXPECT_EQ(parse_usd_micro(".5"), 500000);
}

TEST(Money, RejectsMalformedPrices) {
  EXPECT_FALSE(parse_usd_micro(""));
  EXPECT_FALSE(parse_usd_micro("-1"));
  EXPECT_FALSE(parse_usd_micro("1e3"));
  EXPECT_FALSE(parse_usd_micro("0.0000001"));  // finer than a micro-dollar
  EXPECT_FALSE(parse_usd_micro("abc"));
  EXPECT_FALSE(parse_usd_micro("."));
}

TEST(Money, DoublePricesRoundTripOrAreRefused) {
  EXPECT_EQ(usd_double_to_micro(0.15), 150000);
  EXPECT_EQ(usd_double_to_micro(0.6), 600000);
  EXPECT_EQ(usd_double_to_micro(0.0), 0);
  EXPECT_FALSE(usd_double_to_micro(-0.1));
  EXPECT_FALSE(usd_double_to_micro(1e-9));
}

TEST(Money, CostIsExactIntegerArithmetic) {
  Price p{150000, 600000};  // $0.15 / $0.60 per million tokens
  // 1000 prompt tokens at 0.15/M = 0.00015; 500 completion at 0.6/M = 0.0003.
  EXPECT_EQ(cost_pico_usd(p, 1000, 500), 150000LL * 1000 + 600000LL * 500);
  EXPECT_EQ(format_usd(cost_pico_usd(p, 1000, 500)), "0.00045");
  EXPECT_EQ(format_usd(cost_pico_usd(p, 1, 0)), "0.00000015");
  EXPECT_EQ(format_usd(0), "0");
  EXPECT_EQ(format_usd(1'000'000'000'000LL), "1");
  EXPECT_EQ(format_usd(1), "0.000000000001");
}

TEST(Money, SummingManySmallCostsLosesNothing) {
  Price p{150000, 600000};
  std::int64_t total = 0;
  for (int i = 0; i < 1'000'000; ++i) total += cost_pico_usd(p, 7, 3);
  EXPECT_EQ(format_usd(total), "2.85");  // 1e6 * (7*0.15 + 3*0.6) / 1e6
}

TEST(Money, ComputeTimeIsChargedPerHourExactly) {
  tandem::core::Price p;
  p.compute_micro_usd_per_hour = 3'600'000;  // 3.6 USD per hour = 1e-9 USD per microsecond
  EXPECT_EQ(tandem::core::compute_cost_pico_usd(p, 1), 1000);
  EXPECT_EQ(tandem::core::compute_cost_pico_usd(p, 1'000'000), 1'000'000'000);
  p.compute_micro_usd_per_hour = 1;  // rounds to the nearest pico-USD
  EXPECT_EQ(tandem::core::compute_cost_pico_usd(p, 1799), 0);
  EXPECT_EQ(tandem::core::compute_cost_pico_usd(p, 1800), 1);
  p.compute_micro_usd_per_hour = INT64_MAX;
  EXPECT_EQ(tandem::core::compute_cost_pico_usd(p, 10), INT64_MAX) << "saturates";
}
