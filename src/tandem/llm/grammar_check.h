#pragma once
// A guard in front of llama.cpp's GBNF parser for grammars built from a client's JSON schemas
// (response_format, tools). The parser in llama.cpp v0.4.0 takes a repetition "{m,n}" with n
// below m and counts n - m optional copies in unsigned arithmetic: the count wraps, and it adds
// rules until the process runs out of memory. A schema reaches it through a pattern's "a{2,1}",
// or minLength above maxLength, or minItems above maxItems; such a request must be a 400.
#include <string>
#include <string_view>

namespace tandem::llm {

// What is wrong with `gbnf` that llama.cpp's parser would not survive; empty when nothing is.
std::string grammar_problem(std::string_view gbnf);

}  // namespace tandem::llm
