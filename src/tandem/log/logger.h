#pragma once
// Structured logs: one JSON object per line on stderr, {"ts","level","event",...fields}.
// Secrets (API keys, Authorization headers) must never be passed as fields.
#include <boost/json/value.hpp>
#include <initializer_list>
#include <string_view>
#include <utility>

namespace tandem::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3 };

void set_level(Level level);
bool set_level(std::string_view name);  // false for an unknown name
bool enabled(Level level);

struct Field {
  Field(std::string_view k, boost::json::value v) : key(k), value(std::move(v)) {}
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  std::string_view key;
  boost::json::value value;
};
void write(Level level, std::string_view event, std::initializer_list<Field> fields = {});

inline void debug(std::string_view event, std::initializer_list<Field> fields = {}) {
  if (enabled(Level::debug)) write(Level::debug, event, fields);
}
inline void info(std::string_view event, std::initializer_list<Field> fields = {}) {
  if (enabled(Level::info)) write(Level::info, event, fields);
}
inline void warn(std::string_view event, std::initializer_list<Field> fields = {}) {
  if (enabled(Level::warn)) write(Level::warn, event, fields);
}
inline void error(std::string_view event, std::initializer_list<Field> fields = {}) {
  if (enabled(Level::error)) write(Level::error, event, fields);
}

}  // namespace tandem::log
