// The replay provider's store: exact lookup by trimmed prompt, per model.
#include "tandem/providers/replay_store.h"

#include <gtest/gtest.h>

using tandem::datasets::RecordedAnswer;
using tandem::datasets::RecordedQuery;
using tandem::datasets::RecordedSet;
using tandem::providers::ReplayStore;

TEST(ReplayStore, FindsTheRecordedAnswerByModelAndTrimmedPrompt) {
  RecordedSet set;
  set.format = "routerbench";
  set.models = {"cheap", "dear"};
  RecordedQuery q;
  q.id = "1";
  q.prompt = "What is 2+2?\nAnswer:\n";
  q.answers = {RecordedAnswer{0.0, 0.001, "5"}, RecordedAnswer{1.0, 0.01, "4"}};
  set.queries.push_back(q);
  q.id = "2";  // the same prompt again: the first recording answers
  q.answers = {RecordedAnswer{1.0, 0.002, "4"}, RecordedAnswer{}};
  set.queries.push_back(q);
  q.id = "3";
  q.prompt = "Other";
  q.answers = {RecordedAnswer{1.0, std::nullopt, std::nullopt}, RecordedAnswer{}};
  set.queries.push_back(q);
  const ReplayStore store(std::move(set));
  EXPECT_EQ(store.size(), 3u);
  EXPECT_EQ(store.models(), (std::vector<std::string>{"cheap", "dear"}));
  const RecordedAnswer* a = store.find("dear", "  What is 2+2?\nAnswer:");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->response, "4");
  EXPECT_EQ(a->cost_usd, 0.01);
  a = store.find("cheap", "What is 2+2?\nAnswer:");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->response, "5");
  EXPECT_EQ(store.find_query("Other")->id, "3");
  EXPECT_FALSE(store.find("dear", "Other")->score.has_value());
  EXPECT_EQ(store.find("nobody", "Other"), nullptr);
  EXPECT_EQ(store.find("cheap", "What is 2+3?"), nullptr);
  EXPECT_EQ(store.find("cheap", ""), nullptr);
}
