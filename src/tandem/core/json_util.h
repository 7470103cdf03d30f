#pragma once
// Parsing untrusted JSON with limits, and small lookups that do not throw.
#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <string_view>
#include <variant>

namespace tandem::core {

struct JsonParseError {
  std::string message;  // e.g. "malformed JSON at offset 17: syntax error"
};

// Parses a complete document; rejects invalid UTF-8, trailing garbage, and nesting deeper than
// max_depth (deeply nested input would otherwise cost stack and time). `storage` lets hot paths
// parse into a monotonic arena instead of one heap allocation per node.
std::variant<boost::json::value, JsonParseError> parse_json(std::string_view text,
                                                            int max_depth = 64,
                                                            boost::json::storage_ptr storage = {});

// The member `key` of `object` or nullptr.
const boost::json::value* find_member(const boost::json::object& object, std::string_view key);

// A short, human-readable name of a JSON value's kind: "string", "number", "array", ...
const char* json_kind_name(const boost::json::value& value);

}  // namespace tandem::core
