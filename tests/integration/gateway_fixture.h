#pragma once
// A real gateway (server + config + providers) and a scriptable mock upstream, both on loopback
// in this process.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "mock_upstream.h"
#include "tandem/api/gateway.h"
#include "tandem/http/server.h"
#include "test_client.h"

namespace tandem::testing {

struct Gateway {
  // `toml` may use {MOCK} for the mock's base URL and {MOCK2} for a second mock's.
  explicit Gateway(const std::string& toml, int threads = 2);
  ~Gateway();

  HttpResult post(std::string_view path, std::string_view body,
                  std::vector<std::pair<std::string, std::string>> headers = {});
  HttpResult chat(std::string_view body);  // POST /v1/chat/completions
  HttpResult get(std::string_view path);
  // The value of one exact metric line prefix (name{labels}), or -1 when absent.
  double metric(const std::string& series);

  MockUpstream mock{1};
  MockUpstream mock2{1};
  std::unique_ptr<api::Gateway> gateway;
  std::unique_ptr<http::Server> server;
  std::uint16_t port = 0;
};

// The provider/model block most tests use: model "m" -> mock "up" (prices 0.15 / 0.60).
std::string basic_config(const std::string& extra_provider_settings = "",
                         const std::string& extra_server_settings = "");

}  // namespace tandem::testing
