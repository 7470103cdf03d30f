#include "tandem/llm/thought_counter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tandem::llm {
namespace {

const ThoughtTags kThink{"<think>", {"</think>"}, "<|im_start|>assistant\n"};

int count(const ThoughtTags& tags, const std::vector<std::string>& pieces) {
  ThoughtCounter counter(tags);
  for (const auto& p : pieces) counter.add(p);
  return counter.tokens();
}

TEST(ThoughtCounter, ATemplateThatDoesNotThinkCountsNothing) {
  EXPECT_EQ(count({}, {"<think>", "a", "</think>", "b"}), 0);
  EXPECT_EQ(count({"<think>", {}, ""}, {"<think>", "a"}), 0);
  EXPECT_EQ(count({"", {"</think>"}, ""}, {"<think>", "a"}), 0);
}

TEST(ThoughtCounter, AThoughtTheModelOpensCountsThroughItsClosingTag) {
  EXPECT_EQ(count(kThink, {"<think>", "a", "b", "</think>", "answer", "more"}), 4);
  // Whitespace before the tag is part of it; the tag may come in pieces, and the closing tag too.
  EXPECT_EQ(count(kThink, {"\n", "<th", "ink>", "x", "</", "think", ">", "\n\nok"}), 7);
  // Opened and closed in one piece.
  EXPECT_EQ(count(kThink, {"<think>x</think>", "y"}), 1);
}

TEST(ThoughtCounter, AThoughtThePromptOpensCountsFromTheFirstToken) {
  const ThoughtTags opened{"<think>", {"</think>"}, "<|im_start|>assistant\n<think>\n"};
  EXPECT_EQ(count(opened, {"a", "b", "</think>", "\n\nanswer"}), 3);
  // Never closed (cut short): all of it.
  EXPECT_EQ(count(opened, {"a", "b", "c"}), 3);
  // A prompt that opens and closes it (thinking turned off): the reply is the answer.
  const ThoughtTags closed{
      "<think>", {"</think>"}, "<|im_start|>assistant\n<think>\n\n</think>\n\n"};
  EXPECT_EQ(count(closed, {"answer", "<think>", "x", "</think>"}), 0);
}

TEST(ThoughtCounter, AReplyThatAnswersAtOnceHasNoThought) {
  EXPECT_EQ(count(kThink, {"Hello", "<think>", "x", "</think>"}), 0);
  // It began like the tag, then was something else.
  EXPECT_EQ(count(kThink, {"<th", "is is text"}), 0);
  EXPECT_EQ(count(kThink, {}), 0);
}

TEST(ThoughtCounter, AnyOfTheClosingTagsEndsIt) {
  const ThoughtTags tags{"<|channel|>analysis<|message|>", {"<|end|>", "<|start|>"}, ""};
  EXPECT_EQ(count(tags, {"<|channel|>", "analysis", "<|message|>", "x", "<|end|>", "y"}), 5);
  // The later tags begin what follows: not thought.
  EXPECT_EQ(count(tags, {"<|channel|>analysis<|message|>", "x", "y", "<|start|>", "z"}), 3);
  // Empty pieces (a control token with no text) inside the thought still count.
  EXPECT_EQ(count(tags, {"<|channel|>analysis<|message|>", "", "x", "<|end|>"}), 4);
}

TEST(ThoughtCounter, AnEndTagThatOpensWhatFollowsIsNotThought) {
  // Qwen3.5's thought may also end where a tool call starts, without "</think>".
  const ThoughtTags qwen35{"<think>", {"</think>", "<tool_call>"}, "assistant\n<think>\n"};
  EXPECT_EQ(count(qwen35, {"a", "b", "<tool_call>", "{}"}), 2);
  EXPECT_EQ(count(qwen35, {"a", "b", "</think>", "<tool_call>"}), 3);
}

TEST(ThoughtCounter, ALongThoughtKeepsOnlyATailButStillFindsTheTag) {
  ThoughtCounter counter(kThink);
  counter.add("<think>");
  for (int i = 0; i < 1000; ++i) counter.add("word ");
  counter.add("</thi");
  counter.add("nk>");
  counter.add("answer");
  EXPECT_EQ(counter.tokens(), 1003);
}

TEST(SplitThought, TheLeadingThoughtAndTheRest) {
  auto split = split_thought(kThink, "\n<think>\nhmm\n</think>\n\nThe answer");
  EXPECT_EQ(split.thought, "hmm\n");
  EXPECT_EQ(split.rest, "The answer");
  // Opened by the prompt.
  const ThoughtTags opened{"<think>", {"</think>"}, "assistant\n<think>\n"};
  split = split_thought(opened, "hmm</think>{\"a\":1}");
  EXPECT_EQ(split.thought, "hmm");
  EXPECT_EQ(split.rest, "{\"a\":1}");
  // Never closed: all thought.
  split = split_thought(opened, "hmm, well");
  EXPECT_EQ(split.thought, "hmm, well");
  EXPECT_EQ(split.rest, "");
  // No thought, or a template without tags: all of it is the rest.
  split = split_thought(kThink, "Answer <think>x</think>");
  EXPECT_EQ(split.thought, "");
  EXPECT_EQ(split.rest, "Answer <think>x</think>");
  split = split_thought({}, "<think>x</think>y");
  EXPECT_EQ(split.thought, "");
  EXPECT_EQ(split.rest, "<think>x</think>y");
}

}  // namespace
}  // namespace tandem::llm
