#include "tandem/core/json_util.h"

#include <boost/json.hpp>
#include <map>
#include <memory>

namespace tandem::core {

namespace {
// One parser per thread and depth limit, reused: a fresh parser allocates its working stack on
// every call, which showed up in the gateway's profile.
boost::json::stream_parser& thread_parser(int max_depth) {
  thread_local std::map<int, std::unique_ptr<boost::json::stream_parser>> parsers;
  auto& slot = parsers[max_depth];
  if (!slot) {
    boost::json::parse_options options;
    options.max_depth = static_cast<std::size_t>(max_depth);
    slot = std::make_unique<boost::json::stream_parser>(boost::json::storage_ptr{}, options);
  }
  return *slot;
}
}  // namespace

std::variant<boost::json::value, JsonParseError> parse_json(std::string_view text, int max_depth,
                                                            boost::json::storage_ptr storage) {
  if (text.empty()) return JsonParseError{"request body is empty; expected a JSON object"};
  boost::json::stream_parser& parser = thread_parser(max_depth);
  parser.reset(std::move(storage));
  boost::system::error_code ec;
  std::size_t consumed = parser.write_some(text.data(), text.size(), ec);
  if (!ec && consumed < text.size()) {
    return JsonParseError{"malformed JSON: unexpected data after the document at offset " +
                          std::to_string(consumed)};
  }
  if (!ec) parser.finish(ec);
  if (ec) {
    if (ec == boost::json::error::too_deep) {
      return JsonParseError{"JSON nesting deeper than " + std::to_string(max_depth) +
                            " levels is not accepted"};
    }
    if (ec == boost::json::error::syntax && consumed < text.size() &&
        static_cast<unsigned char>(text[consumed]) >= 0x80) {
      return JsonParseError{"malformed JSON: invalid UTF-8 at offset " + std::to_string(consumed)};
    }
    return JsonParseError{"malformed JSON at offset " + std::to_string(consumed) + ": " +
                          ec.message()};
  }
  boost::json::value value = parser.release();
  parser.reset();  // drop the reference to the caller's storage
  return value;
}

const boost::json::value* find_member(const boost::json::object& object, std::string_view key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : &it->value();
}

const char* json_kind_name(const boost::json::value& value) {
  switch (value.kind()) {
    case boost::json::kind::null:
      return "null";
    case boost::json::kind::bool_:
      return "boolean";
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
    case boost::json::kind::double_:
      return "number";
    case boost::json::kind::string:
      return "string";
    case boost::json::kind::array:
      return "array";
    case boost::json::kind::object:
      return "object";
  }
  return "unknown";
}

}  // namespace tandem::core
