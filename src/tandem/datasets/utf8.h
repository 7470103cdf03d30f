#pragma once
// UTF-8 validation shared by the text loaders (CSV fields, word-vector vocabularies).
#include <cstddef>
#include <string_view>

namespace tandem::datasets::detail {

// The offset of the first byte that does not start a well-formed UTF-8 sequence (overlong forms,
// surrogates and code points above U+10FFFF are refused, as the Unicode standard says), or npos
// when all of `text` is UTF-8.
std::size_t first_invalid_utf8(std::string_view text);

}  // namespace tandem::datasets::detail
