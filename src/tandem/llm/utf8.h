#pragma once
// Generated text is bytes: a token may end in the middle of a character, or be a lone
// continuation byte. What reaches a client must be well-formed UTF-8 (it goes into JSON).
#include <cstddef>
#include <string>
#include <string_view>

namespace tandem::llm {

// Bytes at the end of `text` that begin a UTF-8 sequence not yet complete: held back while
// streaming until the next token completes the character.
std::size_t incomplete_utf8_tail(std::string_view text);

// `text` with every byte that is not part of a well-formed UTF-8 sequence replaced by U+FFFD.
std::string sanitize_utf8(std::string_view text);

}  // namespace tandem::llm
