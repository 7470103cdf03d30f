#pragma once
// Splits a review or ticket into the tokens both sub-models see (fastText and the TF-IDF linear
// model must agree on them, or the ensemble's explanation would mix different words):
//
//   - ASCII letters are lower-cased, so "GREAT" and "great" are one feature (4,000 training
//     reviews are too few to learn case variants separately);
//   - a token is a run of letters, digits and non-ASCII characters (accented words stay whole),
//     with apostrophes inside it kept ("don't", "i've"; U+2019 is read as one);
//   - '!' and '?' are tokens of their own: they carry sentiment ("love it!!!");
//   - everything else ASCII, and Unicode spaces, dashes, quotes and other general punctuation
//     (U+00A0, U+2000..U+206F, U+3000), separates tokens; HTML line breaks ("<br />", common in
//     the Fine Foods reviews) are removed, not read as the word "br".
//
// Tokens never contain whitespace, NUL or '_' (so a text cannot smuggle a "__label__" marker
// into fastText's training file).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::models::text {

// The longest text predict() accepts (bytes of UTF-8): about 30 pages; longer inputs are refused
// rather than silently cut, so that a caller never gets a label for half a document.
inline constexpr std::size_t kMaxTextBytes = 100'000;

// Throws TextModelError when `text` is empty or only whitespace and punctuation (no token at
// all), is not well-formed UTF-8 (the message gives the byte offset) or is longer than
// kMaxTextBytes. `what` names the text in the message ("text", "example 12").
void check_text(std::string_view text, std::string_view what = "text");

// The tokens of one text, kept in one buffer: token i is buffer[begin(i), end(i)).
class Tokens {
 public:
  std::size_t size() const noexcept { return ends_.size(); }
  bool empty() const noexcept { return ends_.empty(); }
  std::string_view operator[](std::size_t i) const noexcept {
    const std::uint32_t begin = i == 0 ? 0 : ends_[i - 1];
    return std::string_view(buffer_).substr(begin, ends_[i] - begin);
  }
  void clear() noexcept {
    buffer_.clear();
    ends_.clear();
  }

 private:
  friend void tokenize(std::string_view text, Tokens& out);
  std::string buffer_;
  std::vector<std::uint32_t> ends_;
};

// Tokenises well-formed UTF-8 (check_text first: ill-formed bytes are treated as word bytes,
// never read past the end). Reuses `out`'s memory.
void tokenize(std::string_view text, Tokens& out);
Tokens tokenize(std::string_view text);

}  // namespace tandem::models::text
