#include <gtest/gtest.h>

#include "tandem/config/url.h"

using namespace tandem::config;

namespace {

Url must_parse(std::string_view text) {
  std::string why;
  auto url = parse_url(text, &why);
  EXPECT_TRUE(url.has_value()) << text << ": " << why;
  return url.value_or(Url{});
}

std::string reason(std::string_view text) {
  std::string why;
  auto url = parse_url(text, &why);
  EXPECT_FALSE(url.has_value()) << text << " was accepted";
  return why;
}

}  // namespace

TEST(Url, HttpDefaultsToPort80) {
  Url u = must_parse("http://example.com");
  EXPECT_FALSE(u.tls);
  EXPECT_EQ(u.host, "example.com");
  EXPECT_EQ(u.port, 80);
  EXPECT_EQ(u.base_path, "");
  EXPECT_EQ(u.host_header(), "example.com");
}

TEST(Url, HttpsDefaultsToPort443) {
  Url u = must_parse("https://api.openai.com/v1");
  EXPECT_TRUE(u.tls);
  EXPECT_EQ(u.host, "api.openai.com");
  EXPECT_EQ(u.port, 443);
  EXPECT_EQ(u.base_path, "/v1");
  EXPECT_EQ(u.host_header(), "api.openai.com");
}

TEST(Url, ExplicitPort) {
  Url u = must_parse("http://127.0.0.1:11434/v1");
  EXPECT_FALSE(u.tls);
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.port, 11434);
  EXPECT_EQ(u.base_path, "/v1");
  EXPECT_EQ(u.host_header(), "127.0.0.1:11434");

  Url s = must_parse("https://h:8443");
  EXPECT_TRUE(s.tls);
  EXPECT_EQ(s.port, 8443);
  EXPECT_EQ(s.host_header(), "h:8443");

  // A non-default port for the scheme is always in the Host header, even the other scheme's.
  EXPECT_EQ(must_parse("https://h:80").host_header(), "h:80");
  EXPECT_EQ(must_parse("http://h:443").host_header(), "h:443");
  // The default port written out is still the default: no ":443" in the Host header.
  EXPECT_EQ(must_parse("https://h:443").host_header(), "h");
  EXPECT_EQ(must_parse("http://h:65535").port, 65535);
  EXPECT_EQ(must_parse("http://h:1").port, 1);
}

TEST(Url, Ipv6Literal) {
  Url u = must_parse("http://[::1]:8080/api");
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, 8080);
  EXPECT_EQ(u.base_path, "/api");
  EXPECT_EQ(u.host_header(), "[::1]:8080");

  Url d = must_parse("https://[2001:db8::7]");
  EXPECT_EQ(d.host, "2001:db8::7");
  EXPECT_EQ(d.port, 443);
  EXPECT_EQ(d.host_header(), "[2001:db8::7]");
}

TEST(Url, BasePathTrailingSlashesAreTrimmed) {
  EXPECT_EQ(must_parse("https://h/v1/").base_path, "/v1");
  EXPECT_EQ(must_parse("https://h/v1///").base_path, "/v1");
  EXPECT_EQ(must_parse("https://h/").base_path, "");
  EXPECT_EQ(must_parse("https://h/a/b/").base_path, "/a/b");
  EXPECT_EQ(must_parse("http://[::1]:1/x/").base_path, "/x");
}

TEST(Url, Target) {
  EXPECT_EQ(must_parse("https://h/v1/").target("/chat/completions"), "/v1/chat/completions");
  EXPECT_EQ(must_parse("https://h").target("/chat/completions"), "/chat/completions");
  EXPECT_EQ(must_parse("https://h/").target("/embeddings"), "/embeddings");
  EXPECT_EQ(must_parse("https://h/openai/v1").target("/models"), "/openai/v1/models");
}

TEST(Url, RejectsQueryAndFragment) {
  EXPECT_EQ(reason("https://h/v1?key=1"), "must not contain a query or fragment");
  EXPECT_EQ(reason("https://h/v1#frag"), "must not contain a query or fragment");
  EXPECT_EQ(reason("https://h?x"), "must not contain a query or fragment");
}

TEST(Url, RejectsCredentials) {
  EXPECT_EQ(reason("https://user:pass@h/v1"), "must not contain credentials");
  EXPECT_EQ(reason("http://user@h"), "must not contain credentials");
}

TEST(Url, RejectsBadPorts) {
  for (const char* text :
       {"http://h:0", "http://h:65536", "http://h:99999", "http://h:abc", "http://h:80x",
        "http://h:-1", "http://h:+80", "http://h:184467440737095516160"}) {
    EXPECT_EQ(reason(text), "has an invalid port") << text;
  }
  EXPECT_EQ(reason("http://[::1]x"), "has garbage after the IPv6 literal");
  EXPECT_EQ(reason("http://[::1]:0"), "has an invalid port");
  EXPECT_EQ(reason("http://[::1"), "has an unterminated IPv6 literal");
}

TEST(Url, RejectsMissingSchemeOrHost) {
  for (const char* text : {"api.openai.com/v1", "ftp://h", "HTTP//h", "//h/v1", "", "h:80"}) {
    EXPECT_EQ(reason(text), "must start with http:// or https://") << text;
  }
  EXPECT_EQ(reason("http://"), "has no host");
  EXPECT_EQ(reason("https:///v1"), "has no host");
  EXPECT_EQ(reason("http://:8080"), "has no host");
  EXPECT_EQ(reason("http://[]:8080"), "has no host");
}

TEST(Url, NullErrorPointerIsAllowed) {
  EXPECT_FALSE(parse_url("ftp://h", nullptr));
  EXPECT_TRUE(parse_url("http://h", nullptr));
}
