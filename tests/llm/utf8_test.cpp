#include "tandem/llm/utf8.h"

#include <gtest/gtest.h>

namespace tandem::llm {
namespace {

TEST(Utf8, IncompleteTailIsHeldBack) {
  EXPECT_EQ(incomplete_utf8_tail("abc"), 0u);
  EXPECT_EQ(incomplete_utf8_tail("ab\xC3"), 1u);          // first byte of a 2-byte character
  EXPECT_EQ(incomplete_utf8_tail("ab\xE2\x82"), 2u);      // 2 of 3 bytes of the euro sign
  EXPECT_EQ(incomplete_utf8_tail("ab\xE2\x82\xAC"), 0u);  // complete
  EXPECT_EQ(incomplete_utf8_tail("\xF0\x9F\x98"), 3u);    // 3 of 4 bytes of an emoji
  EXPECT_EQ(incomplete_utf8_tail(""), 0u);
}

TEST(Utf8, InvalidBytesBecomeReplacementCharacters) {
  const std::string replacement = "\xEF\xBF\xBD";
  EXPECT_EQ(sanitize_utf8("plain \xE2\x82\xAC text"), "plain \xE2\x82\xAC text");
  EXPECT_EQ(sanitize_utf8("a\x80z"), "a" + replacement + "z");  // lone continuation
  EXPECT_EQ(sanitize_utf8("cut \xE2\x82"), "cut " + replacement + replacement);  // truncated
  EXPECT_EQ(sanitize_utf8("\xC0\xAF"), replacement + replacement);               // overlong '/'
  EXPECT_EQ(sanitize_utf8("\xED\xA0\x80"), replacement + replacement + replacement);  // surrogate
  EXPECT_EQ(sanitize_utf8("\xF4\x90\x80\x80").size(), 4 * replacement.size());        // > U+10FFFF
  EXPECT_EQ(sanitize_utf8("\xF0\x9F\x98\x80"), "\xF0\x9F\x98\x80");                   // emoji
}

}  // namespace
}  // namespace tandem::llm
