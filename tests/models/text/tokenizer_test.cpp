// The tokenizer both sub-models share, and the input checks of predict().
#include "tandem/models/text/tokenizer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tandem/models/text/text_model_error.h"

namespace tandem::models::text {
namespace {

std::vector<std::string> words(std::string_view text) {
  const Tokens tokens = tokenize(text);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < tokens.size(); ++i) out.emplace_back(tokens[i]);
  return out;
}

using Words = std::vector<std::string>;

TEST(Tokenizer, LowerCasesAndSplitsOnPunctuation) {
  EXPECT_EQ(words("GREAT taste, Not stale."), (Words{"great", "taste", "not", "stale"}));
  EXPECT_EQ(words("  tabs\tand\nnewlines  "), (Words{"tabs", "and", "newlines"}));
  EXPECT_EQ(words("5-star (really)"), (Words{"5", "star", "really"}));
}

TEST(Tokenizer, KeepsApostrophesInsideWordsAndExclamationsAsTokens) {
  EXPECT_EQ(words("I don't love it!!"), (Words{"i", "don't", "love", "it", "!", "!"}));
  EXPECT_EQ(words("'quoted' dogs' bowls?"), (Words{"quoted", "dogs", "bowls", "?"}));
  // A typographic apostrophe is read as one; typographic quotes separate.
  EXPECT_EQ(words("don\u2019t \u201cgreat\u201d"), (Words{"don't", "great"}));
}

TEST(Tokenizer, RemovesHtmlLineBreaks) {
  EXPECT_EQ(words("good<br /><br />bad<br>ok<BR/>fine"), (Words{"good", "bad", "ok", "fine"}));
  EXPECT_EQ(words("a < b"), (Words{"a", "b"}));
  EXPECT_EQ(words("ends with <br"), (Words{"ends", "with", "br"}));
}

TEST(Tokenizer, KeepsAccentedWordsWholeAndSplitsOnUnicodePunctuation) {
  EXPECT_EQ(words("Caf\u00e9 cr\u00e8me\u2014na\u00efve\u00a0ok"),
            (Words{"caf\u00e9", "cr\u00e8me", "na\u00efve", "ok"}));
  EXPECT_EQ(words("\xef\xbf\xbd odd"), (Words{"\xef\xbf\xbd", "odd"}));  // U+FFFD stays
}

TEST(Tokenizer, NeverEmitsUnderscoresSoNoTextCanForgeAFastTextLabel) {
  EXPECT_EQ(words("__label__1 great"), (Words{"label", "1", "great"}));
}

TEST(Tokenizer, ReusesTheOutputBetweenCalls) {
  Tokens tokens;
  tokenize("one two three", tokens);
  tokenize("four", tokens);
  ASSERT_EQ(tokens.size(), 1u);
  EXPECT_EQ(tokens[0], "four");
  tokenize("...", tokens);
  EXPECT_TRUE(tokens.empty());
}

TEST(CheckText, RefusesEmptyBlankInvalidAndOverlongTexts) {
  EXPECT_NO_THROW(check_text("fine"));
  const auto message = [](std::string_view text) {
    try {
      check_text(text, "review");
    } catch (const TextModelError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message(""), "review is empty");
  EXPECT_EQ(message(" \t\r\n "), "review is only whitespace");
  EXPECT_EQ(message("ok \xff ok"), "review is not valid UTF-8 (byte 3)");
  EXPECT_EQ(message("truncated \xc3"), "review is not valid UTF-8 (byte 10)");
  EXPECT_EQ(message("overlong \xc0\xaf"), "review is not valid UTF-8 (byte 9)");
  EXPECT_EQ(message(std::string(kMaxTextBytes + 1, 'a')),
            "review is 100001 bytes long; the limit is 100000");
  EXPECT_NO_THROW(check_text(std::string(kMaxTextBytes, 'a')));
}

}  // namespace
}  // namespace tandem::models::text
