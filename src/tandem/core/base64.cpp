#include "tandem/core/base64.h"

#include <array>

namespace tandem::core {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int, 256> make_table() {
  std::array<int, 256> t{};
  for (int& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kAlphabet[i])] = i;
  return t;
}
constexpr std::array<int, 256> kTable = make_table();

void set(std::string* why, std::string text) {
  if (why != nullptr) *why = std::move(text);
}

}  // namespace

std::optional<std::string> base64_decode(std::string_view text, std::string* why) {
  // Characters first, so that the error names the first bad one rather than the length.
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (kTable[static_cast<unsigned char>(text[i])] >= 0 || text[i] == '=') continue;
    unsigned char c = static_cast<unsigned char>(text[i]);
    std::string shown =
        c >= 0x20 && c < 0x7f ? std::string("'") + text[i] + "'" : "byte " + std::to_string(c);
    set(why, "invalid base64 character " + shown + " at offset " + std::to_string(i));
    return std::nullopt;
  }
  std::size_t end = text.size();
  std::size_t pad = 0;
  while (end > 0 && text[end - 1] == '=' && pad < 2) {
    --end;
    ++pad;
  }
  if (pad > 0 && text.size() % 4 != 0) {
    set(why, "padded base64 must have a length that is a multiple of 4");
    return std::nullopt;
  }
  if (end % 4 == 1) {
    set(why, "base64 text has a dangling character (its length is not valid)");
    return std::nullopt;
  }
  std::string out;
  out.reserve(end / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < end; ++i) {
    int v = kTable[static_cast<unsigned char>(text[i])];
    if (v < 0) {  // an '=' before the padding at the end
      set(why, "base64 padding '=' at offset " + std::to_string(i) + " is not at the end");
      return std::nullopt;
    }
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t v = (static_cast<unsigned char>(bytes[i]) << 16) |
                      (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                      static_cast<unsigned char>(bytes[i + 2]);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  if (i < bytes.size()) {
    std::uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

}  // namespace tandem::core
