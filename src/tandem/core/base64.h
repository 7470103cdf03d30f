#pragma once
// Strict base64 (RFC 4648, standard alphabet) for images sent inside JSON. Padding is optional;
// whitespace and the URL-safe alphabet are refused, so a mangled upload fails loudly instead of
// decoding to garbage.
#include <optional>
#include <string>
#include <string_view>

namespace tandem::core {

// The decoded bytes, or nullopt with `why` set ("invalid character '%' at offset 12", ...).
std::optional<std::string> base64_decode(std::string_view text, std::string* why = nullptr);
std::string base64_encode(std::string_view bytes);

}  // namespace tandem::core
