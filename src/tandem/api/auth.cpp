#include "tandem/api/auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

namespace tandem::api {

namespace {
std::array<unsigned char, 32> digest(std::string_view text) {
  std::array<unsigned char, 32> out{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), out.data());
  return out;
}
}  // namespace

Authenticator::Authenticator(const std::vector<config::ClientKey>& keys) {
  for (const auto& k : keys) keys_.push_back({k.name, digest(k.key)});
}

std::optional<std::string> Authenticator::authenticate(std::string_view authorization) const {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() <= kBearer.size()) return std::nullopt;
  for (std::size_t i = 0; i < kBearer.size(); ++i) {
    char c = authorization[i];
    char want = kBearer[i];
    if (c != want && !(i == 0 && c == 'b')) return std::nullopt;
  }
  auto presented = digest(authorization.substr(kBearer.size()));
  const Entry* match = nullptr;
  for (const auto& k : keys_) {  // no early exit: always compare against every key
    if (CRYPTO_memcmp(presented.data(), k.digest.data(), presented.size()) == 0) match = &k;
  }
  if (match == nullptr) return std::nullopt;
  return match->name;
}

}  // namespace tandem::api
