#include "tandem/models/text/tokenizer.h"

#include <string>

#include "tandem/datasets/utf8.h"
#include "tandem/models/text/text_model_error.h"

namespace tandem::models::text {
namespace {

bool is_ascii_space(unsigned char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

bool is_ascii_alnum(unsigned char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Bytes in the UTF-8 sequence that `lead` starts (1 for anything that is not a lead byte, so
// that ill-formed input never makes the loop skip past the end).
std::size_t sequence_length(unsigned char lead) noexcept {
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  if (lead >= 0xE0) return lead <= 0xEF ? 3 : 1;
  if (lead >= 0xC2) return 2;
  return 1;
}

char32_t decode(std::string_view s, std::size_t at, std::size_t length) noexcept {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[at + i]); };
  switch (length) {
    case 2:
      return static_cast<char32_t>(((byte(0) & 0x1Fu) << 6) | (byte(1) & 0x3Fu));
    case 3:
      return static_cast<char32_t>(((byte(0) & 0x0Fu) << 12) | ((byte(1) & 0x3Fu) << 6) |
                                   (byte(2) & 0x3Fu));
    case 4:
      return static_cast<char32_t>(((byte(0) & 0x07u) << 18) | ((byte(1) & 0x3Fu) << 12) |
                                   ((byte(2) & 0x3Fu) << 6) | (byte(3) & 0x3Fu));
    default:
      return byte(0);
  }
}

// Unicode characters that separate words: no-break space, inverted and angle quotation marks,
// General Punctuation (spaces, dashes, quotes, ellipsis), CJK punctuation, the BOM.
bool is_unicode_separator(char32_t c) noexcept {
  return c == 0x00A0 || c == 0x00A1 || c == 0x00AB || c == 0x00BB || c == 0x00BF ||
         (c >= 0x2000 && c <= 0x206F) || (c >= 0x3000 && c <= 0x303F) || c == 0xFEFF;
}

// Whether the byte at `at` starts a word character (for an apostrophe to stay inside a word).
bool word_follows(std::string_view s, std::size_t at) noexcept {
  if (at >= s.size()) return false;
  const auto c = static_cast<unsigned char>(s[at]);
  if (c < 0x80) return is_ascii_alnum(c);
  const std::size_t n = sequence_length(c);
  return at + n <= s.size() && !is_unicode_separator(decode(s, at, n));
}

// Length of an HTML line break ("<br>", "<br/>", "<br />", any case) starting at `at`, or 0.
std::size_t html_break_length(std::string_view s, std::size_t at) noexcept {
  if (s.size() - at < 4 || (s[at + 1] != 'b' && s[at + 1] != 'B') ||
      (s[at + 2] != 'r' && s[at + 2] != 'R')) {
    return 0;
  }
  std::size_t i = at + 3;
  while (i < s.size() && s[i] == ' ') ++i;
  if (i < s.size() && s[i] == '/') ++i;
  return i < s.size() && s[i] == '>' ? i + 1 - at : 0;
}

}  // namespace

void check_text(std::string_view text, std::string_view what) {
  if (text.size() > kMaxTextBytes) {
    throw TextModelError(std::string(what) + " is " + std::to_string(text.size()) +
                         " bytes long; the limit is " + std::to_string(kMaxTextBytes));
  }
  bool blank = true;
  for (char c : text) {
    if (!is_ascii_space(static_cast<unsigned char>(c))) {
      blank = false;
      break;
    }
  }
  if (blank) {
    throw TextModelError(std::string(what) + (text.empty() ? " is empty" : " is only whitespace"));
  }
  const std::size_t bad = datasets::detail::first_invalid_utf8(text);
  if (bad != std::string_view::npos) {
    throw TextModelError(std::string(what) + " is not valid UTF-8 (byte " + std::to_string(bad) +
                         ")");
  }
}

void tokenize(std::string_view text, Tokens& out) {
  out.clear();
  std::string& buffer = out.buffer_;
  std::vector<std::uint32_t>& ends = out.ends_;
  std::size_t token_start = 0;  // in buffer
  const auto flush = [&] {
    if (buffer.size() > token_start) {
      ends.push_back(static_cast<std::uint32_t>(buffer.size()));
      token_start = buffer.size();
    }
  };
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (is_ascii_alnum(c)) {
        buffer.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A'))
                                              : static_cast<char>(c));
      } else if (c == '\'' && buffer.size() > token_start && word_follows(text, i + 1)) {
        buffer.push_back('\'');
      } else if (c == '!' || c == '?') {
        flush();
        buffer.push_back(static_cast<char>(c));
        flush();
      } else {
        flush();
        if (c == '<') {
          const std::size_t n = html_break_length(text, i);
          if (n > 0) {
            i += n;
            continue;
          }
        }
      }
      ++i;
      continue;
    }
    std::size_t n = sequence_length(c);
    if (i + n > text.size()) n = 1;
    const char32_t cp = decode(text, i, n);
    if (cp == 0x2019 && buffer.size() > token_start && word_follows(text, i + n)) {
      buffer.push_back('\'');  // a typographic apostrophe: "don’t" is "don't"
    } else if (is_unicode_separator(cp)) {
      flush();
    } else {
      buffer.append(text.substr(i, n));
    }
    i += n;
  }
  flush();
}

Tokens tokenize(std::string_view text) {
  Tokens tokens;
  tokenize(text, tokens);
  return tokens;
}

}  // namespace tandem::models::text
