#include "tandem/llm/grammar_check.h"

#include <cstdint>

namespace tandem::llm {

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// GBNF's blanks between tokens: spaces, tabs, line breaks and # comments.
std::size_t skip_blanks(std::string_view s, std::size_t i) {
  while (i < s.size()) {
    if (s[i] == '#') {
      while (i < s.size() && s[i] != '\n') ++i;
    } else if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
      ++i;
    } else {
      break;
    }
  }
  return i;
}

// Reads an unsigned integer at `i` (saturating: a count beyond any grammar's is just "huge").
std::size_t read_count(std::string_view s, std::size_t i, std::uint64_t& value) {
  value = 0;
  while (i < s.size() && is_digit(s[i])) {
    std::uint64_t digit = static_cast<std::uint64_t>(s[i] - '0');
    value = value > (UINT64_MAX - digit) / 10 ? UINT64_MAX : value * 10 + digit;
    ++i;
  }
  return i;
}

// Past a literal "..." or a character class [...] that starts at `i`, escapes included.
std::size_t skip_quoted(std::string_view s, std::size_t i, char close) {
  ++i;
  while (i < s.size() && s[i] != close) i += s[i] == '\\' ? 2 : 1;
  return i + 1;
}

}  // namespace

std::string grammar_problem(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == '#') {
      i = skip_blanks(s, i);
    } else if (c == '"') {
      i = skip_quoted(s, i, '"');
    } else if (c == '[') {
      i = skip_quoted(s, i, ']');
    } else if (c == '{') {
      std::size_t start = i;
      i = skip_blanks(s, i + 1);
      if (i >= s.size() || !is_digit(s[i])) continue;  // the parser rejects it by itself
      std::uint64_t min = 0, max = 0;
      i = skip_blanks(s, read_count(s, i, min));
      if (i >= s.size() || s[i] != ',') continue;  // {m}: exactly m
      i = skip_blanks(s, i + 1);
      if (i >= s.size() || !is_digit(s[i])) continue;  // {m,}: m or more
      i = read_count(s, i, max);
      if (max < min) {
        std::size_t end = s.find('}', i);
        return "a repetition's maximum is below its minimum: " +
               std::string(
                   s.substr(start, end == std::string_view::npos ? i - start : end + 1 - start)) +
               " (a pattern's {m,n} with n < m, or minLength or minItems above the maximum)";
      }
    } else {
      ++i;
    }
  }
  return {};
}

}  // namespace tandem::llm
