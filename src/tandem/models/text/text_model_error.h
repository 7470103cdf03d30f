#pragma once
// Every error of the text classifier: bad training options or data, a text it cannot classify
// (empty, not UTF-8, too long), a corrupt or mismatched model payload. The message says what is
// wrong and, where it can, where (option name, byte offset, file).
#include <stdexcept>

namespace tandem::models::text {

class TextModelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace tandem::models::text
