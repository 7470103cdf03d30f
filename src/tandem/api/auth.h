#pragma once
// Client authentication by Bearer key. Keys are kept as SHA-256 digests and every configured key
// is compared in constant time, so neither a key's content nor its length leaks through timing.
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/config/config.h"

namespace tandem::api {

class Authenticator {
 public:
  explicit Authenticator(const std::vector<config::ClientKey>& keys);
  bool enabled() const { return !keys_.empty(); }
  // The key's name when the Authorization header carries a valid "Bearer <key>".
  std::optional<std::string> authenticate(std::string_view authorization) const;

 private:
  struct Entry {
    std::string name;
    std::array<unsigned char, 32> digest;
  };
  std::vector<Entry> keys_;
};

}  // namespace tandem::api
