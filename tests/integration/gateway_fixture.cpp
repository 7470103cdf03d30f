#include "gateway_fixture.h"

#include "tandem/config/config_loader.h"
#include "tandem/log/logger.h"

namespace tandem::testing {

namespace {
void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (std::size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) {
    s.replace(pos, from.size(), to);
  }
}
}  // namespace

Gateway::Gateway(const std::string& toml, int threads) {
  std::string text = toml;
  replace_all(text, "{MOCK}", mock.base_url());
  replace_all(text, "{MOCK2}", mock2.base_url());
  auto env = [](std::string_view name) -> std::optional<std::string> {
    if (name == "TEST_CLIENT_KEY") return std::string("test-client-key-0123456789");
    if (name == "TEST_UPSTREAM_KEY") return std::string("sk-upstream-secret");
    return std::nullopt;
  };
  auto loaded = config::parse_config(text, "test.toml", env);
  if (!loaded.config) {
    std::string all;
    for (const auto& e : loaded.errors) all += e + "\n";
    throw std::runtime_error("bad test config:\n" + all);
  }
  log::set_level(loaded.config->server.log_level);
  http::ServerOptions so;
  so.port = 0;
  so.threads = threads;
  so.max_body_bytes = loaded.config->server.max_body_bytes;
  so.max_header_bytes = loaded.config->server.max_header_bytes;
  so.read_timeout = loaded.config->server.read_timeout;
  so.idle_timeout = loaded.config->server.idle_timeout;
  so.write_timeout = loaded.config->server.read_timeout;
  so.drain_timeout = loaded.config->server.drain_timeout;
  gateway = std::make_unique<api::Gateway>(std::move(*loaded.config));
  server = std::make_unique<http::Server>(so, gateway->handler_factory());
  server->start();
  port = server->port();
}

Gateway::~Gateway() {
  server->stop();
  mock.stop();
  mock2.stop();
}

HttpResult Gateway::post(std::string_view path, std::string_view body,
                         std::vector<std::pair<std::string, std::string>> headers) {
  return request(port, "POST", path, body, headers);
}

HttpResult Gateway::chat(std::string_view body) {
  return post("/v1/chat/completions", body);
}

HttpResult Gateway::get(std::string_view path) {
  return request(port, "GET", path);
}

double Gateway::metric(const std::string& series) {
  HttpResult r = get("/metrics");
  std::size_t pos = 0;
  while ((pos = r.body.find(series + " ", pos)) != std::string::npos) {
    if (pos == 0 || r.body[pos - 1] == '\n')
      return std::stod(r.body.substr(pos + series.size() + 1));
    pos += series.size();
  }
  return -1;
}

std::string basic_config(const std::string& extra, const std::string& server) {
  return R"(
[server]
log_level = "error"
)" + server +
         R"(
[providers.up]
kind = "openai"
base_url = "{MOCK}"
api_key_env = "TEST_UPSTREAM_KEY"
input_price_per_mtok = 0.15
output_price_per_mtok = 0.60
retry_base_delay_ms = 5
retry_max_delay_ms = 200
)" + extra +
         R"(
[models.m]
routes = [{ provider = "up", model = "up-model" }]
)";
}

}  // namespace tandem::testing
