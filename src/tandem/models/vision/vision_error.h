#pragma once
// The one error of the image classifier library: a bad image (not PNG or JPEG, too large,
// corrupt, wrong pixel values), bad training data or options, or a malformed model payload. The
// message says what is wrong and, where it can, where (which pixel index, which byte, which
// file), because the server returns it to the client as a 400 as it is.
#include <stdexcept>

namespace tandem::models::vision {

class VisionError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace tandem::models::vision
