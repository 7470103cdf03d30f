#include "tandem/llm/grammar_check.h"

#include <gtest/gtest.h>

namespace tandem::llm {
namespace {

TEST(GrammarCheck, ARepetitionWhoseMaximumIsBelowItsMinimumIsAProblem) {
  EXPECT_NE(grammar_problem(R"(root ::= "a"{2,1})"), "");
  EXPECT_NE(grammar_problem("root ::= x{ 5 , 2 }\nx ::= [a-z]"), "");
  EXPECT_NE(grammar_problem("root ::= [0-9]{3,0}"), "");
  // The message shows the repetition.
  EXPECT_NE(grammar_problem(R"(root ::= "a"{2,1})").find("{2,1}"), std::string::npos);
  // A count beyond 64 bits saturates rather than wrapping into a small one.
  EXPECT_NE(grammar_problem("root ::= x{99999999999999999999999,5}"), "");
}

TEST(GrammarCheck, WellFormedRepetitionsAndLookalikesAreFine) {
  EXPECT_EQ(grammar_problem(R"(root ::= "a"{1,2} "b"{3} "c"{0,} "d"* "e"+ "f"?)"), "");
  EXPECT_EQ(grammar_problem("root ::= x{2,2}"), "");
  // Braces inside literals, character classes and comments are text, not repetitions.
  EXPECT_EQ(grammar_problem(R"(root ::= "{2,1}" [{}] "\"{9,1}")"), "");
  EXPECT_EQ(grammar_problem("root ::= [\\]{5,1}] x # x{9,1}\nx ::= \"y\""), "");
  EXPECT_EQ(grammar_problem(""), "");
}

}  // namespace
}  // namespace tandem::llm
