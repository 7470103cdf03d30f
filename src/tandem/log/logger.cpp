#include "tandem/log/logger.h"

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace tandem::log {

namespace {
std::atomic<int> g_level{static_cast<int>(Level::info)};
std::mutex g_write_mutex;

const char* level_name(Level level) {
  switch (level) {
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warn:
      return "warn";
    case Level::error:
      return "error";
  }
  return "info";
}

std::string timestamp() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() %
      1'000'000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(micros));
  return buf;
}
}  // namespace

void set_level(Level level) {
  g_level.store(static_cast<int>(level));
}

bool set_level(std::string_view name) {
  if (name == "debug")
    set_level(Level::debug);
  else if (name == "info")
    set_level(Level::info);
  else if (name == "warn")
    set_level(Level::warn);
  else if (name == "error")
    set_level(Level::error);
  else
    return false;
  return true;
}

bool enabled(Level level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

void write(Level level, std::string_view event, std::initializer_list<Field> fields) {
  boost::json::object line;
  line["ts"] = timestamp();
  line["level"] = level_name(level);
  line["event"] = event;
  for (const auto& field : fields) line[field.key] = field.value;
  std::string text = boost::json::serialize(line);
  text += '\n';
  std::lock_guard lock(g_write_mutex);
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

}  // namespace tandem::log
