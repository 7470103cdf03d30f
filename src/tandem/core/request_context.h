#pragma once
// What a task request says about itself beyond its input, for the policy's decision table:
// {"context": {"stakes": "high", "explain": true, "resources": "low", "latency_budget_ms": 200,
//              "language": "en", "user": "alice"}}. Every field is optional.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace tandem::core {

struct RequestContext {
  std::string stakes;     // "low", "medium", "high"; empty: not said
  bool explain = false;   // the caller needs an explanation of the answer
  std::string resources;  // "low" (run cheap and local), "normal"; empty: not said
  std::optional<std::int64_t> latency_budget_ms;
  std::string language;         // ISO 639-1, as the caller declares it
  std::string user;             // keeps a weighted split sticky per user
  std::size_t input_chars = 0;  // filled by the parser from the input itself
};

}  // namespace tandem::core
