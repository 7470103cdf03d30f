#pragma once
// The one error type of the prompts library: a template, schema, example or budget problem, with
// a message meant for the person who wrote the config (at start) or sent the request (at request
// time). Nothing in this library reports a problem any other way.
#include <stdexcept>

namespace tandem::prompts {

class PromptError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An embedder that could not embed (its provider failed, refused or timed out). Not the input's
// fault: a task answers it as an upstream failure and runs its fallbacks, where any other
// PromptError at request time is a bad request.
class EmbedderError : public PromptError {
 public:
  using PromptError::PromptError;
};

}  // namespace tandem::prompts
