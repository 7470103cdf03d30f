#pragma once
// A TLS front for the plain mock upstream, so tests can check the client's TLS: it terminates TLS
// on loopback with a certificate it creates (openssl CLI) and pipes bytes to a plain port.
#include <cstdint>
#include <memory>
#include <string>

namespace tandem::testing {

class TlsForwarder {
 public:
  // A self-signed certificate for `common_name` (also its DNS subjectAltName), in a temp folder.
  TlsForwarder(std::uint16_t target_port, const std::string& common_name);
  ~TlsForwarder();

  std::uint16_t port() const;
  const std::string& certificate_file() const;  // PEM; usable as a provider's ca_file

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace tandem::testing
