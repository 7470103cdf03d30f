// The upstream client's TLS: certificate verification against a CA file, host-name checks, and
// the explicit opt-out, through a real TLS server on loopback.
#include "gateway_fixture.h"
#include "tls_forwarder.h"

namespace tandem::testing {
namespace {

constexpr const char* kChat = R"({"model":"m","messages":[{"role":"user","content":"hi"}]})";

std::string tls_config(std::uint16_t port, const std::string& host, const std::string& settings) {
  return R"(
[server]
log_level = "error"
[providers.secure]
kind = "openai"
base_url = "https://)" +
         host + ":" + std::to_string(port) + R"(/v1"
max_retries = 0
)" + settings +
         R"(
[models.m]
routes = [{ provider = "secure", model = "up-model" }]
)";
}

TEST(Tls, VerifiedAgainstTheConfiguredCaFile) {
  MockUpstream upstream(1);
  TlsForwarder tls(upstream.port(), "localhost");
  Gateway gw(tls_config(tls.port(), "localhost", "ca_file = \"" + tls.certificate_file() + "\""));
  HttpResult r = gw.chat(kChat);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-tandem-route"), "secure:up-model");
  EXPECT_EQ(upstream.request_count(), 1u);
  // The connection is pooled: a second request goes over it without a new handshake.
  EXPECT_EQ(gw.chat(kChat).status, 200);
}

TEST(Tls, UnknownCertificateAuthorityIsRefused) {
  MockUpstream upstream(1);
  TlsForwarder tls(upstream.port(), "localhost");
  Gateway gw(tls_config(tls.port(), "localhost", ""));  // system CAs only
  HttpResult r = gw.chat(kChat);
  EXPECT_EQ(r.status, 502);
  EXPECT_NE(r.body.find("tls_error"), std::string::npos) << r.body;
  EXPECT_EQ(upstream.request_count(), 0u);
}

TEST(Tls, CertificateForAnotherHostIsRefused) {
  MockUpstream upstream(1);
  TlsForwarder tls(upstream.port(), "other.example");
  Gateway gw(tls_config(tls.port(), "localhost", "ca_file = \"" + tls.certificate_file() + "\""));
  HttpResult r = gw.chat(kChat);
  EXPECT_EQ(r.status, 502);
  EXPECT_NE(r.body.find("tls_error"), std::string::npos) << r.body;
  EXPECT_EQ(upstream.request_count(), 0u);
}

TEST(Tls, VerificationCanBeSwitchedOffExplicitly) {
  MockUpstream upstream(1);
  TlsForwarder tls(upstream.port(), "other.example");
  Gateway gw(tls_config(tls.port(), "localhost", "verify_tls = false"));
  HttpResult r = gw.chat(kChat);
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST(Tls, MissingCaFileIsAClearFailure) {
  MockUpstream upstream(1);
  TlsForwarder tls(upstream.port(), "localhost");
  Gateway gw(tls_config(tls.port(), "localhost", "ca_file = \"/nonexistent/ca.pem\""));
  HttpResult r = gw.chat(kChat);
  EXPECT_EQ(r.status, 502);
  EXPECT_NE(r.body.find("cannot load CA file /nonexistent/ca.pem"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace tandem::testing
