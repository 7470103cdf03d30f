// A label's confidence from the reply's token logprobs.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>

#include "tandem/api/variant_call.h"

namespace tandem::api {
namespace {

namespace json = boost::json;

json::value tokens(std::initializer_list<std::pair<const char*, double>> list) {
  json::array a;
  for (const auto& [t, lp] : list) a.push_back(json::object{{"token", t}, {"logprob", lp}});
  return a;
}

TEST(LogprobConfidence, TheLabelsTokensMultiply) {
  // {"label": "positive"} as a model's tokens: the label spans "pos" and "itive".
  json::value t = tokens({{"{\"", -0.0},
                          {"label", -0.01},
                          {"\": \"", -0.0},
                          {"pos", -0.2},
                          {"itive", -0.05},
                          {"\"}", -0.0}});
  std::string label = "positive";
  auto p = confidence_from_logprobs(&t, R"({"label": "positive"})", &label);
  ASSERT_TRUE(p.has_value());
  EXPECT_NEAR(*p, std::exp(-0.25), 1e-12);
  // A bare label reply.
  json::value bare = tokens({{"neg", -0.7}, {"ative", -0.1}});
  label = "negative";
  p = confidence_from_logprobs(&bare, "negative", &label);
  ASSERT_TRUE(p.has_value());
  EXPECT_NEAR(*p, std::exp(-0.8), 1e-12);
}

TEST(LogprobConfidence, FreeRepliesUseTheGeometricMean) {
  json::value t = tokens({{"a", -0.2}, {"b", -0.4}});
  auto p = confidence_from_logprobs(&t, "ab", nullptr);
  ASSERT_TRUE(p.has_value());
  EXPECT_NEAR(*p, std::exp(-0.3), 1e-12);
}

TEST(LogprobConfidence, NothingUsableMeansNoConfidence) {
  std::string label = "yes";
  EXPECT_FALSE(confidence_from_logprobs(nullptr, "yes", &label));
  json::value empty = json::array{};
  EXPECT_FALSE(confidence_from_logprobs(&empty, "yes", &label));
  json::value other = tokens({{"no", -0.1}});
  EXPECT_FALSE(confidence_from_logprobs(&other, "no", &label));
  json::value broken = json::array{json::object{{"token", "yes"}}};
  EXPECT_FALSE(confidence_from_logprobs(&broken, "yes", &label));
}

}  // namespace
}  // namespace tandem::api
