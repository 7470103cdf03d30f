#pragma once
// A one-pass scan of an OpenAI-compatible answer (a chat completion, a stream chunk, an
// embeddings response) for the few things the gateway needs: is it a JSON object, its usage,
// its choices and their finish reasons, and an error member. It validates the whole document but
// builds no tree: on the proxy's hot path a full parse cost more than the rest of the request.
#include <optional>
#include <string>
#include <string_view>

#include "tandem/core/usage.h"

namespace tandem::providers {

struct AnswerScan {
  bool has_choices = false;   // "choices" is an array
  int choices = 0;            // its length
  int filtered_choices = 0;   // choices whose finish_reason is "content_filter"
  bool usage_member = false;  // a top-level "usage" member exists (even null)
  core::Usage usage;          // known when "usage" is a well-formed usage object
  // "usage" is there, not null, and not a well-formed usage object: prompt_tokens missing, a
  // count that is not an integer in [0, 2^40), or not an object at all.
  bool usage_malformed = false;
  bool has_error = false;     // a top-level "error" member that is not null
  std::string error_message;  // error.message when it is a string
  // tandem_replay.cost_usd of a replayed answer, in pico-USD; -1: none (also in usage)
  std::int64_t recorded_cost_pico_usd = -1;
};

// nullopt when `json` is not a well-formed JSON object (or nests deeper than 64 levels).
std::optional<AnswerScan> scan_answer(std::string_view json);

}  // namespace tandem::providers
