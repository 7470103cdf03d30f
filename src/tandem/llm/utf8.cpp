#include "tandem/llm/utf8.h"

namespace tandem::llm {

// Bytes at the end of `text` that begin a UTF-8 sequence not yet complete: held back, so that a
// streamed piece never splits a character (a token may end mid-character).
std::size_t incomplete_utf8_tail(std::string_view text) {
  for (std::size_t back = 1; back <= 4 && back <= text.size(); ++back) {
    auto c = static_cast<unsigned char>(text[text.size() - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: look further back
    std::size_t need = (c & 0x80) == 0 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
    return need > back ? back : 0;
  }
  return 0;
}

// `text` with every byte that is not part of a well-formed UTF-8 sequence replaced by U+FFFD.
// Tokens are byte sequences: a model may emit a lone continuation byte or stop in the middle of a
// character, and the answer must still be valid JSON text.
std::string sanitize_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    std::size_t n = c < 0x80           ? 1
                    : (c >> 5) == 0x6  ? 2
                    : (c >> 4) == 0xE  ? 3
                    : (c >> 3) == 0x1E ? 4
                                       : 0;
    bool ok = n > 0 && i + n <= text.size();
    for (std::size_t k = 1; ok && k < n; ++k) {
      ok = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
    }
    if (ok && n > 1) {
      // Overlong forms, surrogates and code points past U+10FFFF are not well-formed either.
      auto c1 = static_cast<unsigned char>(text[i + 1]);
      ok = !(n == 2 && c < 0xC2) && !(n == 3 && c == 0xE0 && c1 < 0xA0) &&
           !(n == 3 && c == 0xED && c1 >= 0xA0) && !(n == 4 && c == 0xF0 && c1 < 0x90) &&
           !(n == 4 && (c > 0xF4 || (c == 0xF4 && c1 >= 0x90)));
    }
    if (ok) {
      out.append(text.substr(i, n));
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

}  // namespace tandem::llm
