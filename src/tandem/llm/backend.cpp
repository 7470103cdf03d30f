#include "tandem/llm/backend.h"

#include <llama.h>
#include <log.h>

#include <mutex>
#include <string>

#include "tandem/log/logger.h"

namespace tandem::llm {

namespace {

void log_callback(ggml_log_level level, const char* text, void*) {
  if (level != GGML_LOG_LEVEL_WARN && level != GGML_LOG_LEVEL_ERROR) return;
  std::string line(text);
  while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.pop_back();
  if (line.empty()) return;
  if (level == GGML_LOG_LEVEL_ERROR) {
    log::error("llama", {{"message", line}});
  } else {
    log::warn("llama", {{"message", line}});
  }
}

}  // namespace

void ensure_backend() {
  static std::once_flag once;
  std::call_once(once, [] {
    llama_log_set(log_callback, nullptr);
    // llama.cpp's common library (chat templates, samplers) prints its own plain lines to stderr,
    // beside this process's JSON log: a grammar it could not start, with the request's schema in
    // it. What matters of them reaches the caller as an exception; paused, its log drops them.
    common_log_pause(common_log_main());
    llama_backend_init();
  });
}

}  // namespace tandem::llm
