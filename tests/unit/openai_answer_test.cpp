#include <gtest/gtest.h>

#include "tandem/providers/openai_answer.h"

using tandem::providers::scan_answer;

TEST(AnswerScan, ReadsUsageChoicesAndFinishReasons) {
  auto s = scan_answer(R"({"id":"x","choices":[{"index":0,"message":{"role":"assistant",
    "content":"a \"usage\": {\"prompt_tokens\": 99}"},"finish_reason":"stop"},
    {"index":1,"finish_reason":"content_filter"}],"usage":{"prompt_tokens":12,
    "completion_tokens":5,"total_tokens":17,"prompt_tokens_details":{"cached_tokens":3}}})");
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->has_choices);
  EXPECT_EQ(s->choices, 2);
  EXPECT_EQ(s->filtered_choices, 1);
  EXPECT_TRUE(s->usage_member);
  ASSERT_TRUE(s->usage.known);
  EXPECT_EQ(s->usage.prompt_tokens, 12);  // not the 99 inside the content string
  EXPECT_EQ(s->usage.completion_tokens, 5);
  EXPECT_EQ(s->usage.total_tokens, 17);
  EXPECT_FALSE(s->has_error);
}

TEST(AnswerScan, NestedUsageKeysAreNotTheAnswersUsage) {
  auto s = scan_answer(R"({"choices":[{"message":{"usage":{"prompt_tokens":7}}}]})");
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->usage_member);
  EXPECT_FALSE(s->usage.known);
  EXPECT_EQ(s->choices, 1);
}

TEST(AnswerScan, NullOrMalformedUsageIsUnknown) {
  auto null_usage = scan_answer(R"({"choices":[],"usage":null})");
  ASSERT_TRUE(null_usage);
  EXPECT_TRUE(null_usage->usage_member);
  EXPECT_FALSE(null_usage->usage.known);
  for (const char* bad :
       {R"({"usage":{"prompt_tokens":-1}})", R"({"usage":{"prompt_tokens":"3"}})",
        R"({"usage":{"completion_tokens":3}})", R"({"usage":{"prompt_tokens":1.5}})",
        R"({"usage":[1,2]})", R"({"usage":5})", R"({"usage":{"prompt_tokens":1099511627776}})"}) {
    auto s = scan_answer(bad);
    ASSERT_TRUE(s) << bad;
    EXPECT_FALSE(s->usage.known) << bad;
  }
  auto no_completion = scan_answer(R"({"usage":{"prompt_tokens":4}})");
  ASSERT_TRUE(no_completion && no_completion->usage.known);
  EXPECT_EQ(no_completion->usage.total_tokens, 4);
}

TEST(AnswerScan, FindsErrorsAndTheirMessages) {
  auto s = scan_answer(R"({"error":{"message":"model overloaded","type":"server_error"}})");
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->has_error);
  EXPECT_EQ(s->error_message, "model overloaded");
  auto null_error = scan_answer(R"({"error":null,"choices":[]})");
  ASSERT_TRUE(null_error);
  EXPECT_FALSE(null_error->has_error);
  auto string_error = scan_answer(R"({"error":"boom"})");
  ASSERT_TRUE(string_error);
  EXPECT_TRUE(string_error->has_error);
}

TEST(AnswerScan, RejectsWhatIsNotAJsonObject) {
  for (const char* bad :
       {"", "[]", "42", "\"s\"", "{", R"({"a":1} trailing)", R"({"a":})", "{\"a\":\"\xff\"}"}) {
    EXPECT_FALSE(scan_answer(bad)) << bad;
  }
  std::string deep(100, '[');
  EXPECT_FALSE(scan_answer("{\"a\":" + deep + std::string(100, ']') + "}"));
  EXPECT_TRUE(scan_answer("{}"));
}

TEST(AnswerScan, ChoicesMustBeAnArray) {
  auto s = scan_answer(R"({"choices":{"0":{}}})");
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->has_choices);
}

TEST(AnswerScan, ReadsTheRecordedCostOfAReplayedAnswer) {
  auto s = scan_answer(R"({"choices":[{"message":{"content":"B"}}],
    "tandem_replay":{"score":1,"cost_usd":0.0025,"query_id":"q.1"}})");
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->usage.known);  // no token counts were recorded
  EXPECT_EQ(s->recorded_cost_pico_usd, 2'500'000'000);
  EXPECT_EQ(s->usage.recorded_cost_pico_usd, 2'500'000'000);
  auto whole = scan_answer(R"({"choices":[],"tandem_replay":{"cost_usd":0}})");
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->usage.recorded_cost_pico_usd, 0);
  // Elsewhere, or not a cost, it is not the recorded cost.
  for (const char* other :
       {R"({"choices":[{"tandem_replay":{"cost_usd":1.5}}]})",
        R"({"choices":[],"tandem_replay":{"cost_usd":-1}})",
        R"({"choices":[],"tandem_replay":{"cost_usd":"1"}})", R"({"choices":[]})"}) {
    auto o = scan_answer(other);
    ASSERT_TRUE(o) << other;
    EXPECT_EQ(o->usage.recorded_cost_pico_usd, -1) << other;
  }
}
