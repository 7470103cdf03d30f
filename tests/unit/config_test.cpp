#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <string>

#include "tandem/config/config_loader.h"

using namespace tandem::config;

namespace {

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

EnvLookup no_env() {
  return env_of({});
}

std::string joined(const std::vector<std::string>& errors) {
  std::string out;
  for (const auto& e : errors) out += e + "\n";
  return out;
}

// The one error of a config that must fail with exactly one problem.
std::string single_error(std::string_view toml, const EnvLookup& env = no_env()) {
  LoadResult r = parse_config(toml, "t.toml", env);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_EQ(r.errors.size(), 1u) << joined(r.errors);
  return r.errors.empty() ? std::string() : r.errors.front();
}

Config must_parse(std::string_view toml, const EnvLookup& env = no_env()) {
  LoadResult r = parse_config(toml, "t.toml", env);
  EXPECT_TRUE(r.errors.empty()) << joined(r.errors);
  if (!r.config) {
    ADD_FAILURE() << "config did not parse";
    return Config{};
  }
  return *r.config;
}

// A minimal valid provider and model, to which a test appends what it checks.
constexpr std::string_view kMinimal = R"([providers.p]
kind = "openai"
base_url = "http://127.0.0.1:9000/v1"

[models.m]
routes = [{ provider = "p", model = "up" }]
)";

constexpr std::string_view kFull = R"(# A full config.
[server]
host = "0.0.0.0"
port = 9090
threads = 4
max_body_bytes = 1048576
max_header_bytes = 8192
read_timeout_ms = 1000
idle_timeout_ms = 2000
drain_timeout_ms = 0
max_json_depth = 32
metrics_require_auth = true
log_level = "debug"

[providers.openai]
kind = "openai"
base_url = "https://api.openai.com/v1/"
api_key_env = "OPENAI_KEY"
connect_timeout_ms = 250
request_timeout_ms = 7000
stream_idle_timeout_ms = 3000
max_retries = 3
retry_base_delay_ms = 50
retry_max_delay_ms = 800
max_idle_connections = 8
breaker_failure_threshold = 7
breaker_cooldown_ms = 1500
verify_tls = false
ca_file = "/etc/ca.pem"
input_price_per_mtok = 0.15
output_price_per_mtok = "0.60"

[providers.local]
kind = "openai"
base_url = "http://[::1]:11434"

[models.gpt-4o-mini]
routes = [
  { provider = "openai", model = "gpt-4o-mini" },
  { provider = "local", model = "llama3.2", input_price_per_mtok = 0, output_price_per_mtok = "0" },
]

[models.embed]
type = "embeddings"
routes = [{ provider = "openai", model = "text-embedding-3-small", input_price_per_mtok = 0.02 }]

[[client_keys]]
name = "app"
key_env = "APP_KEY"

[[client_keys]]
name = "ops"
key = "0123456789abcdef-ops"
)";

}  // namespace

TEST(Config, ParsesAFullConfig) {
  Config c =
      must_parse(kFull, env_of({{"OPENAI_KEY", "sk-secret"}, {"APP_KEY", "app-key-0123456789"}}));
  EXPECT_EQ(c.server.host, "0.0.0.0");
  EXPECT_EQ(c.server.port, 9090);
  EXPECT_EQ(c.server.threads, 4);
  EXPECT_EQ(c.server.max_body_bytes, 1048576u);
  EXPECT_EQ(c.server.max_header_bytes, 8192u);
  EXPECT_EQ(c.server.read_timeout, Millis(1000));
  EXPECT_EQ(c.server.idle_timeout, Millis(2000));
  EXPECT_EQ(c.server.drain_timeout, Millis(0));
  EXPECT_EQ(c.server.max_json_depth, 32);
  EXPECT_TRUE(c.server.metrics_require_auth);
  EXPECT_EQ(c.server.log_level, "debug");

  ASSERT_EQ(c.providers.size(), 2u);
  const ProviderConfig* openai = nullptr;
  const ProviderConfig* local = nullptr;
  for (const auto& p : c.providers) {
    if (p.name == "openai") openai = &p;
    if (p.name == "local") local = &p;
  }
  ASSERT_NE(openai, nullptr);
  ASSERT_NE(local, nullptr);
  EXPECT_EQ(openai->kind, "openai");
  EXPECT_TRUE(openai->base_url.tls);
  EXPECT_EQ(openai->base_url.host, "api.openai.com");
  EXPECT_EQ(openai->base_url.port, 443);
  EXPECT_EQ(openai->base_url.base_path, "/v1");
  EXPECT_EQ(openai->api_key, "sk-secret");
  EXPECT_EQ(openai->connect_timeout, Millis(250));
  EXPECT_EQ(openai->request_timeout, Millis(7000));
  EXPECT_EQ(openai->stream_idle_timeout, Millis(3000));
  EXPECT_EQ(openai->max_retries, 3);
  EXPECT_EQ(openai->retry_base_delay, Millis(50));
  EXPECT_EQ(openai->retry_max_delay, Millis(800));
  EXPECT_EQ(openai->max_idle_connections, 8);
  EXPECT_EQ(openai->breaker_failure_threshold, 7);
  EXPECT_EQ(openai->breaker_cooldown, Millis(1500));
  EXPECT_FALSE(openai->verify_tls);
  EXPECT_EQ(openai->ca_file, "/etc/ca.pem");
  EXPECT_EQ(openai->price.input_micro_usd_per_mtok, 150000);
  EXPECT_EQ(openai->price.output_micro_usd_per_mtok, 600000);

  EXPECT_FALSE(local->base_url.tls);
  EXPECT_EQ(local->base_url.host, "::1");
  EXPECT_EQ(local->base_url.port, 11434);
  EXPECT_EQ(local->base_url.base_path, "");
  EXPECT_EQ(local->api_key, "");
  // Defaults where nothing was set.
  EXPECT_EQ(local->max_retries, 2);
  EXPECT_TRUE(local->verify_tls);
  EXPECT_EQ(local->price.input_micro_usd_per_mtok, 0);

  ASSERT_EQ(c.models.size(), 2u);
  const ModelConfig* chat = c.find_model("gpt-4o-mini");
  const ModelConfig* embed = c.find_model("embed");
  ASSERT_NE(chat, nullptr);
  ASSERT_NE(embed, nullptr);
  EXPECT_EQ(c.find_model("nope"), nullptr);
  EXPECT_FALSE(chat->embeddings);
  ASSERT_EQ(chat->routes.size(), 2u);
  EXPECT_EQ(chat->routes[0].provider, "openai");
  EXPECT_EQ(chat->routes[0].model, "gpt-4o-mini");
  EXPECT_EQ(chat->routes[0].label, "openai:gpt-4o-mini");
  EXPECT_EQ(&c.providers[chat->routes[0].provider_index], openai);
  EXPECT_EQ(chat->routes[0].price.input_micro_usd_per_mtok, 150000);
  EXPECT_EQ(chat->routes[0].price.output_micro_usd_per_mtok, 600000);
  EXPECT_EQ(chat->routes[1].label, "local:llama3.2");
  EXPECT_EQ(&c.providers[chat->routes[1].provider_index], local);
  EXPECT_EQ(chat->routes[1].price.input_micro_usd_per_mtok, 0);
  EXPECT_EQ(chat->routes[1].price.output_micro_usd_per_mtok, 0);

  EXPECT_TRUE(embed->embeddings);
  ASSERT_EQ(embed->routes.size(), 1u);
  EXPECT_EQ(embed->routes[0].price.input_micro_usd_per_mtok, 20000);
  EXPECT_EQ(embed->routes[0].price.output_micro_usd_per_mtok, 600000);  // inherited

  ASSERT_EQ(c.client_keys.size(), 2u);
  EXPECT_EQ(c.client_keys[0].name, "app");
  EXPECT_EQ(c.client_keys[0].key, "app-key-0123456789");
  EXPECT_EQ(c.client_keys[1].name, "ops");
  EXPECT_EQ(c.client_keys[1].key, "0123456789abcdef-ops");
}

TEST(Config, MinimalConfigUsesDefaults) {
  Config c = must_parse(kMinimal);
  ServerConfig defaults;
  EXPECT_EQ(c.server.host, defaults.host);
  EXPECT_EQ(c.server.port, defaults.port);
  EXPECT_EQ(c.server.max_json_depth, defaults.max_json_depth);
  EXPECT_TRUE(c.client_keys.empty());
  ASSERT_EQ(c.models.size(), 1u);
  EXPECT_FALSE(c.models[0].embeddings);
}

TEST(Config, ErrorsNameFileLineColumnAndKeyPath) {
  // base_url is on line 3; its value starts at column 12.
  std::string e = single_error(R"([providers.x]
kind = "openai"
base_url = "ftp://example.com"

[models.m]
routes = [{ provider = "x", model = "up" }]
)");
  EXPECT_EQ(e,
            "t.toml:3:12: providers.x.base_url: 'ftp://example.com' must start with http:// "
            "or https://");
}

TEST(Config, EveryProblemIsReportedNotJustTheFirst) {
  LoadResult r = parse_config(R"([server]
port = "8080"
threads = 1000

[providers.x]
kind = "anthropic"
base_url = "http://h"

[models.m]
routes = [{ provider = "x", model = "up" }]
)",
                              "t.toml", no_env());
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 3u) << joined(r.errors);
  EXPECT_EQ(r.errors[0], "t.toml:2:8: server.port: must be an integer");
  EXPECT_EQ(r.errors[1], "t.toml:3:11: server.threads: must be between 0 and 256");
  EXPECT_EQ(r.errors[2],
            "t.toml:6:8: providers.x.kind: unknown provider kind 'anthropic' (supported: openai, "
            "local, replay)");
}

TEST(Config, UnknownKeysAreRejectedAtEveryLevel) {
  EXPECT_EQ(single_error(std::string(kMinimal) + "\n[serverr]\nport = 1\n"),
            "t.toml:8:1: serverr: unknown key");
  EXPECT_EQ(single_error(std::string(kMinimal) + "[server]\nprot = 1\n"),
            "t.toml:8:8: server.prot: unknown key");
  EXPECT_EQ(single_error(R"([providers.p]
kind = "openai"
base_url = "http://h"
api_kye_env = "X"

[models.m]
routes = [{ provider = "p", model = "up" }]
)"),
            "t.toml:4:15: providers.p.api_kye_env: unknown key");
  EXPECT_EQ(single_error(R"([providers.p]
kind = "openai"
base_url = "http://h"

[models.m]
routes = [{ provider = "p", model = "up", weight = 2 }]
)"),
            "t.toml:6:52: models.m.routes[0].weight: unknown key");
  EXPECT_EQ(single_error(std::string(kMinimal) + "[[client_keys]]\nname = \"a\"\n"
                                                 "key = \"0123456789abcdef\"\nscope = \"x\"\n"),
            "t.toml:10:9: client_keys[0].scope: unknown key");
}

TEST(Config, WrongTypesAreReportedWithTheKey) {
  struct Case {
    std::string server_line;
    std::string expected;
  };
  for (const auto& c : {
           Case{"host = 5", "server.host: must be a string"},
           Case{"port = \"8080\"", "server.port: must be an integer"},
           Case{"port = 70000", "server.port: must be between 0 and 65535"},
           Case{"port = 80.5", "server.port: must be an integer"},
           Case{"metrics_require_auth = \"yes\"",
                "server.metrics_require_auth: must be true or false"},
           Case{"read_timeout_ms = 0", "server.read_timeout_ms: must be between 1 and 86400000"},
           Case{"max_json_depth = 1", "server.max_json_depth: must be between 2 and 512"},
       }) {
    std::string toml = "[server]\n" + c.server_line + "\n\n" + std::string(kMinimal);
    std::string e = single_error(toml);
    EXPECT_TRUE(e.starts_with("t.toml:2:")) << e;
    EXPECT_NE(e.find(c.expected), std::string::npos) << e;
  }
  EXPECT_NE(single_error("server = 5\n" + std::string(kMinimal))
                .find("t.toml:1:10: server: must be a table"),
            std::string::npos);
  LoadResult r =
      parse_config("providers = [1]\n[models.m]\nroutes = [{ provider = \"p\", model = \"x\" }]\n",
                   "t.toml", no_env());
  EXPECT_FALSE(r.config);
  EXPECT_NE(joined(r.errors).find("t.toml:1:13: providers: must be a table of provider tables"),
            std::string::npos)
      << joined(r.errors);
}

TEST(Config, ProviderFieldTypes) {
  auto provider_error = [](const std::string& extra) {
    return single_error("[providers.p]\nkind = \"openai\"\nbase_url = \"http://h\"\n" + extra +
                        "\n\n[models.m]\nroutes = [{ provider = \"p\", model = \"up\" }]\n");
  };
  EXPECT_EQ(provider_error("max_retries = 11"),
            "t.toml:4:15: providers.p.max_retries: must be between 0 and 10");
  EXPECT_EQ(provider_error("verify_tls = 1"),
            "t.toml:4:14: providers.p.verify_tls: must be true or false");
  EXPECT_EQ(provider_error("breaker_failure_threshold = 0"),
            "t.toml:4:29: providers.p.breaker_failure_threshold: must be between 1 and 1000");
  EXPECT_EQ(provider_error("api_key_env = [\"A\"]"),
            "t.toml:4:15: providers.p.api_key_env: must be a string");
}

TEST(Config, MissingRequiredProviderKeys) {
  std::string e = single_error(R"([providers.p]
kind = "openai"

[models.m]
routes = [{ provider = "p", model = "up" }]
)");
  EXPECT_TRUE(e.starts_with("t.toml:1:")) << e;
  EXPECT_NE(e.find("providers.p: missing required key 'base_url'"), std::string::npos) << e;
}

TEST(Config, BadBaseUrlsAreRejected) {
  for (const char* url : {"api.openai.com/v1", "https://api.openai.com/v1?x=1",
                          "https://user:pw@api.openai.com", "http://h:99999", "http://"}) {
    std::string e =
        single_error("[providers.p]\nkind = \"openai\"\nbase_url = \"" + std::string(url) +
                     "\"\n[models.m]\nroutes = [{ provider = \"p\", model = \"up\" }]\n");
    EXPECT_TRUE(e.starts_with("t.toml:3:12: providers.p.base_url: '" + std::string(url) + "' "))
        << e;
  }
}

TEST(Config, ApiKeyEnvMustBeSet) {
  constexpr std::string_view toml = R"([providers.p]
kind = "openai"
base_url = "http://h"
api_key_env = "P_KEY"

[models.m]
routes = [{ provider = "p", model = "up" }]
)";
  EXPECT_EQ(single_error(toml),
            "t.toml:4:15: providers.p.api_key_env: environment variable P_KEY is not set");
  // Set but empty counts as not set.
  EXPECT_EQ(single_error(toml, env_of({{"P_KEY", ""}})),
            "t.toml:4:15: providers.p.api_key_env: environment variable P_KEY is not set");
  Config c = must_parse(toml, env_of({{"P_KEY", "sk-1"}}));
  ASSERT_EQ(c.providers.size(), 1u);
  EXPECT_EQ(c.providers[0].api_key, "sk-1");
}

TEST(Config, ClientKeyEnvMustBeSet) {
  std::string toml = std::string(kMinimal) + R"(
[[client_keys]]
name = "app"
key_env = "APP_KEY"
)";
  EXPECT_EQ(single_error(toml),
            "t.toml:10:11: client_keys[0].key_env: environment variable APP_KEY is not set");
  Config c = must_parse(toml, env_of({{"APP_KEY", "abcdefghijklmnop"}}));
  ASSERT_EQ(c.client_keys.size(), 1u);
  EXPECT_EQ(c.client_keys[0].key, "abcdefghijklmnop");
}

TEST(Config, ClientKeyRules) {
  std::string base(kMinimal);
  std::string e =
      single_error(base + "[[client_keys]]\nname = \"app\"\nkey = \"short-key-15chr\"\n");
  EXPECT_NE(e.find("client_keys[0]: client keys must be at least 16 characters"), std::string::npos)
      << e;
  EXPECT_TRUE(e.starts_with("t.toml:")) << e;

  // Exactly 16 characters is enough.
  Config c = must_parse(base + "[[client_keys]]\nname = \"app\"\nkey = \"0123456789abcdef\"\n");
  ASSERT_EQ(c.client_keys.size(), 1u);

  // A short key from the environment is refused too.
  e = single_error(base + "[[client_keys]]\nname = \"app\"\nkey_env = \"K\"\n",
                   env_of({{"K", "abc"}}));
  EXPECT_NE(e.find("client keys must be at least 16 characters"), std::string::npos) << e;

  e = single_error(
      base + "[[client_keys]]\nname = \"app\"\nkey_env = \"K\"\nkey = \"0123456789abcdef\"\n",
      env_of({{"K", "0123456789abcdef"}}));
  EXPECT_NE(e.find("client_keys[0]: set either key_env or key, not both"), std::string::npos) << e;

  e = single_error(base + "[[client_keys]]\nname = \"app\"\n");
  EXPECT_NE(e.find("client_keys[0]: needs key_env (preferred) or key"), std::string::npos) << e;

  e = single_error(base + "[[client_keys]]\nkey = \"0123456789abcdef\"\n");
  EXPECT_NE(e.find("client_keys[0]: missing required key 'name'"), std::string::npos) << e;

  // The index in the path is the key's position in the array.
  e = single_error(base +
                   "[[client_keys]]\nname = \"a\"\nkey = \"0123456789abcdef\"\n"
                   "[[client_keys]]\nname = \"b\"\nkey = \"tiny\"\n");
  EXPECT_NE(e.find("client_keys[1]: client keys must be at least 16 characters"), std::string::npos)
      << e;
}

TEST(Config, RouteNamingAnUnknownProvider) {
  EXPECT_EQ(single_error(R"([providers.p]
kind = "openai"
base_url = "http://h"

[models.m]
routes = [
  { provider = "p", model = "a" },
  { provider = "ghost", model = "b" },
]
)"),
            "t.toml:8:16: models.m.routes[1].provider: no provider named 'ghost' in [providers]");
}

TEST(Config, RouteShapeErrors) {
  std::string providers = "[providers.p]\nkind = \"openai\"\nbase_url = \"http://h\"\n\n";
  EXPECT_EQ(single_error(providers + "[models.m]\nroutes = []\n"),
            "t.toml:6:10: models.m.routes: must be a non-empty array of tables");
  EXPECT_EQ(single_error(providers + "[models.m]\nroutes = \"p\"\n"),
            "t.toml:6:10: models.m.routes: must be a non-empty array of tables");
  EXPECT_EQ(
      single_error(providers + "[models.m]\nroutes = [\"p\"]\n"),
      "t.toml:6:11: models.m.routes[0]: must be a table {provider = \"...\", model = \"...\"}");
  std::string e = single_error(providers + "[models.m]\ntype = \"chat\"\n");
  EXPECT_TRUE(e.starts_with("t.toml:5:")) << e;
  EXPECT_NE(e.find("models.m: missing required key 'routes'"), std::string::npos) << e;
  e = single_error(providers + "[models.m]\nroutes = [{ provider = \"p\" }]\n");
  EXPECT_NE(e.find("models.m.routes[0]: missing required key 'model'"), std::string::npos) << e;
}

namespace {

using PricePair = std::pair<std::int64_t, std::int64_t>;

std::string priced_provider(const std::string& in, const std::string& out) {
  return "[providers.p]\nkind = \"openai\"\nbase_url = \"http://h\"\ninput_price_per_mtok = " + in +
         "\noutput_price_per_mtok = " + out +
         "\n\n[models.m]\nroutes = [{ provider = \"p\", model = \"up\" }]\n";
}

PricePair provider_price(const std::string& in, const std::string& out) {
  Config c = must_parse(priced_provider(in, out));
  if (c.providers.empty()) return {-1, -1};
  return {c.providers[0].price.input_micro_usd_per_mtok,
          c.providers[0].price.output_micro_usd_per_mtok};
}

}  // namespace

TEST(Config, PricesAsNumbersAndStrings) {
  EXPECT_EQ(provider_price("0.15", "0.6"), PricePair(150000, 600000));
  EXPECT_EQ(provider_price("\"0.15\"", "\"0.60\""), PricePair(150000, 600000));
  EXPECT_EQ(provider_price("2", "\"10\""), PricePair(2000000, 10000000));
  EXPECT_EQ(provider_price("0", "0.000001"), PricePair(0, 1));
  EXPECT_EQ(provider_price("\"0.000001\"", "1.25"), PricePair(1, 1250000));
  // The price is used by every route that does not set its own.
  Config c = must_parse(priced_provider("0.15", "0.6"));
  ASSERT_EQ(c.models.size(), 1u);
  ASSERT_EQ(c.models[0].routes.size(), 1u);
  EXPECT_EQ(c.models[0].routes[0].price.input_micro_usd_per_mtok, 150000);
  EXPECT_EQ(c.models[0].routes[0].price.output_micro_usd_per_mtok, 600000);
}

TEST(Config, BadPricesAreRejected) {
  const std::string what = "must be a non-negative USD amount with at most 6 decimals";
  struct Case {
    std::string value;
    std::string expected;
  };
  for (const auto& c : {
           Case{"-1", what},
           Case{"-0.5", what},
           Case{"\"-1\"", what},
           Case{"\"abc\"", what},
           Case{"\"1e3\"", what},
           Case{"\"0.0000001\"", what},
           Case{"0.0000001", what},
           Case{"nan", what},
           Case{"inf", what},
           Case{"true", "must be a number of USD per million tokens"},
           Case{"[1]", "must be a number of USD per million tokens"},
       }) {
    std::string e = single_error(priced_provider(c.value, "0"));
    EXPECT_EQ(e, "t.toml:4:24: providers.p.input_price_per_mtok: " + c.expected)
        << "value " << c.value;
  }
}

TEST(Config, NumericPriceFinerThanAMicroDollarIsRefusedNotRounded) {
  std::string e = single_error(priced_provider("10.0000005", "0"));
  EXPECT_NE(e.find("providers.p.input_price_per_mtok: must be a non-negative USD amount"),
            std::string::npos)
      << e;
  e = single_error(priced_provider("\"10.0000005\"", "0"));  // the string form is refused already
  EXPECT_NE(e.find("providers.p.input_price_per_mtok"), std::string::npos) << e;
}

TEST(Config, RoutePriceOverridesProviderPrice) {
  Config c = must_parse(R"([providers.p]
kind = "openai"
base_url = "http://h"
input_price_per_mtok = 0.15
output_price_per_mtok = 0.60

[models.m]
routes = [
  { provider = "p", model = "cheap", input_price_per_mtok = "0.05" },
  { provider = "p", model = "free", input_price_per_mtok = 0, output_price_per_mtok = 0 },
  { provider = "p", model = "default" },
]
)");
  ASSERT_EQ(c.models.size(), 1u);
  const auto& routes = c.models[0].routes;
  ASSERT_EQ(routes.size(), 3u);
  EXPECT_EQ(routes[0].price.input_micro_usd_per_mtok, 50000);
  EXPECT_EQ(routes[0].price.output_micro_usd_per_mtok, 600000);  // not overridden: inherited
  EXPECT_EQ(routes[1].price.input_micro_usd_per_mtok, 0);
  EXPECT_EQ(routes[1].price.output_micro_usd_per_mtok, 0);
  EXPECT_EQ(routes[2].price.input_micro_usd_per_mtok, 150000);
  EXPECT_EQ(routes[2].price.output_micro_usd_per_mtok, 600000);
  // The provider's own price is untouched by the overrides.
  EXPECT_EQ(c.providers[0].price.input_micro_usd_per_mtok, 150000);
}

TEST(Config, BadRoutePriceNamesTheRoute) {
  EXPECT_EQ(single_error(R"([providers.p]
kind = "openai"
base_url = "http://h"

[models.m]
routes = [{ provider = "p", model = "x", output_price_per_mtok = "1.1234567" }]
)"),
            "t.toml:6:66: models.m.routes[0].output_price_per_mtok: must be a non-negative USD "
            "amount with at most 6 decimals");
}

TEST(Config, InvalidTomlSyntaxHasALine) {
  LoadResult r = parse_config("[server]\nport = 8080\nhost = \"unterminated\n", "t.toml", no_env());
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u) << joined(r.errors);
  EXPECT_TRUE(std::regex_search(r.errors[0], std::regex(R"(^t\.toml:3:\d+: \S)"))) << r.errors[0];

  r = parse_config("[server\nport = 1\n", "cfg.toml", no_env());
  ASSERT_EQ(r.errors.size(), 1u) << joined(r.errors);
  EXPECT_TRUE(std::regex_search(r.errors[0], std::regex(R"(^cfg\.toml:1:\d+: \S)"))) << r.errors[0];

  r = parse_config(std::string(kMinimal) + "\n\n[models.m]\nroutes = []\n", "t.toml", no_env());
  ASSERT_EQ(r.errors.size(), 1u) << joined(r.errors);  // redefined table
  EXPECT_TRUE(std::regex_search(r.errors[0], std::regex(R"(^t\.toml:9:\d+: \S)"))) << r.errors[0];
}

TEST(Config, AtLeastOneModelIsNeeded) {
  constexpr std::string_view providers =
      "[providers.p]\nkind = \"openai\"\nbase_url = \"http://h\"\n";
  EXPECT_EQ(single_error(providers),
            "t.toml: models: at least one [models.<name>] or [tasks.<name>] is needed");
  EXPECT_EQ(single_error(""),
            "t.toml: models: at least one [models.<name>] or [tasks.<name>] is needed");
  EXPECT_EQ(single_error(std::string(providers) + "[models]\n"),
            "t.toml: models: at least one [models.<name>] or [tasks.<name>] is needed");
  // Other errors are reported on their own, without the extra "no models" line.
  EXPECT_EQ(single_error("[server]\nport = -1\n"),
            "t.toml:2:8: server.port: must be between 0 and 65535");
}

TEST(Config, ModelTypes) {
  Config c = must_parse(
      std::string(kMinimal) +
      "\n[models.e]\ntype = \"embeddings\"\nroutes = [{ provider = \"p\", model = \"emb\" }]\n"
      "\n[models.c]\ntype = \"chat\"\nroutes = [{ provider = \"p\", model = \"c\" }]\n");
  ASSERT_NE(c.find_model("e"), nullptr);
  ASSERT_NE(c.find_model("c"), nullptr);
  ASSERT_NE(c.find_model("m"), nullptr);
  EXPECT_TRUE(c.find_model("e")->embeddings);
  EXPECT_FALSE(c.find_model("c")->embeddings);
  EXPECT_FALSE(c.find_model("m")->embeddings);

  EXPECT_EQ(
      single_error(
          std::string(kMinimal) +
          "\n[models.e]\ntype = \"completion\"\nroutes = [{ provider = \"p\", model = \"x\" }]\n"),
      "t.toml:9:8: models.e.type: must be \"chat\" or \"embeddings\"");
}

TEST(Config, NamesAreValidated) {
  std::string e = single_error(R"([providers."bad name"]
kind = "openai"
base_url = "http://h"

[models.m]
routes = [{ provider = "bad name", model = "x" }]
)");
  EXPECT_NE(e.find("providers.bad name: provider names use letters, digits and -_.:/"),
            std::string::npos)
      << e;
  e = single_error(std::string(kMinimal) +
                   "[models.\"a b\"]\nroutes = [{ provider = \"p\", model = \"x\" }]\n");
  EXPECT_NE(e.find("models.a b: model names use letters, digits and -_.:/"), std::string::npos)
      << e;
}

TEST(Config, LogLevel) {
  Config c = must_parse("[server]\nlog_level = \"warn\"\n" + std::string(kMinimal));
  EXPECT_EQ(c.server.log_level, "warn");
  std::string e = single_error("[server]\nlog_level = \"loud\"\n" + std::string(kMinimal));
  EXPECT_NE(e.find("server.log_level"), std::string::npos) << e;
  EXPECT_NE(e.find("must be one of debug, info, warn, error"), std::string::npos) << e;
}

TEST(Config, LogLevelErrorPointsAtTheValue) {
  std::string e = single_error("[server]\nlog_level = \"loud\"\n" + std::string(kMinimal));
  EXPECT_EQ(e, "t.toml:2:13: server.log_level: must be one of debug, info, warn, error");
}

TEST(Config, LoadConfigFileReportsAMissingFile) {
  LoadResult r = load_config_file("/nonexistent/dir/tandem.toml", no_env());
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0], "/nonexistent/dir/tandem.toml: cannot open config file");
}

TEST(Config, LocalProviderModelsAndLoras) {
  Config c = must_parse(R"(
[providers.gguf]
kind = "local"
compute_price_per_hour = 0.36
output_price_per_mtok = 0.1
[providers.gguf.models.small]
path = "models/small.gguf"
context = 2048
parallel = 8
threads = 2
batch = 256
start_gap_ms = 2.5
start_max_ms = 0
[providers.gguf.models.small.loras]
support = "adapters/support.gguf"
[providers.gguf.models.vec]
path = "/abs/vec.gguf"
embeddings = true
[models.chat]
routes = [{ provider = "gguf", model = "small", lora = "support" }]
[models.embed]
type = "embeddings"
routes = [{ provider = "gguf", model = "vec" }]
)");
  ASSERT_EQ(c.providers.size(), 1u);
  const ProviderConfig& p = c.providers[0];
  EXPECT_EQ(p.kind, "local");
  EXPECT_EQ(p.max_retries, 0) << "no retries in process by default";
  ASSERT_EQ(p.local_models.size(), 2u);
  const LocalModelConfig* small = p.find_local_model("small");
  ASSERT_NE(small, nullptr);
  // Relative paths are relative to the config file's folder ("t.toml": the current folder).
  EXPECT_EQ(small->path, "models/small.gguf");
  EXPECT_EQ(small->context, 2048);
  EXPECT_EQ(small->parallel, 8);
  EXPECT_EQ(small->batch, 256);
  EXPECT_EQ(small->start_gap_ms, 2.5);
  EXPECT_EQ(small->start_max_ms, 0) << "0 turns the start window off";
  EXPECT_EQ(p.find_local_model("vec")->start_gap_ms, 10) << "the default";
  EXPECT_EQ(p.find_local_model("vec")->start_max_ms, 40) << "the default";
  ASSERT_EQ(small->loras.size(), 1u);
  EXPECT_EQ(small->loras[0].name, "support");
  EXPECT_EQ(small->loras[0].path, "adapters/support.gguf");
  EXPECT_TRUE(p.find_local_model("vec")->embeddings);
  EXPECT_EQ(c.models[0].routes[0].lora, "support");
  EXPECT_EQ(c.models[0].routes[0].price.compute_micro_usd_per_hour, 360'000);
  EXPECT_EQ(c.models[0].routes[0].price.output_micro_usd_per_mtok, 100'000);
}

TEST(Config, LocalPathsAreRelativeToTheConfigFile) {
  LoadResult r = parse_config(R"(
[providers.gguf]
kind = "local"
[providers.gguf.models.small]
path = "../models/small.gguf"
[models.chat]
routes = [{ provider = "gguf", model = "small" }]
)",
                              "/etc/tandem/tandem.toml", no_env());
  ASSERT_TRUE(r.config) << joined(r.errors);
  EXPECT_EQ(r.config->providers[0].local_models[0].path, "/etc/models/small.gguf");
}

TEST(Config, LocalProviderErrors) {
  EXPECT_NE(joined(parse_config(R"(
[providers.gguf]
kind = "local"
[models.chat]
routes = [{ provider = "gguf", model = "small" }]
)",
                                "t.toml", no_env())
                       .errors)
                .find("needs [providers.gguf.models.<name>]"),
            std::string::npos);
  std::string base = R"(
[providers.gguf]
kind = "local"
[providers.gguf.models.small]
path = "small.gguf"
)";
  EXPECT_NE(single_error(base + R"(start_max_ms = -1
[models.chat]
routes = [{ provider = "gguf", model = "small" }]
)")
                .find("providers.gguf.models.small.start_max_ms: must be a number between 0 and "
                      "10000"),
            std::string::npos);
  EXPECT_NE(single_error(base + R"(start_gap_ms = "soon"
[models.chat]
routes = [{ provider = "gguf", model = "small" }]
)")
                .find("providers.gguf.models.small.start_gap_ms: must be a number between 0 and "
                      "1000"),
            std::string::npos);
  EXPECT_NE(single_error(base + R"([models.chat]
routes = [{ provider = "gguf", model = "big" }]
)")
                .find("routes[0].model: provider 'gguf' has no model 'big'"),
            std::string::npos);
  EXPECT_NE(single_error(base + R"([models.chat]
routes = [{ provider = "gguf", model = "small", lora = "x" }]
)")
                .find("has no LoRA adapter 'x'"),
            std::string::npos);
  EXPECT_NE(single_error(base + R"([models.chat]
type = "embeddings"
routes = [{ provider = "gguf", model = "small" }]
)")
                .find("is a chat model"),
            std::string::npos);
  EXPECT_NE(single_error(R"(
[providers.gguf]
kind = "local"
base_url = "http://x"
[providers.gguf.models.small]
path = "small.gguf"
[models.chat]
routes = [{ provider = "gguf", model = "small" }]
)")
                .find("providers.gguf.base_url: unknown key"),
            std::string::npos);
  EXPECT_NE(single_error(base + R"(context = 4
[models.chat]
routes = [{ provider = "gguf", model = "small" }]
)")
                .find("context: must be between 16"),
            std::string::npos);
  EXPECT_NE(single_error(kMinimal.data() + std::string(R"([models.x]
routes = [{ provider = "p", model = "m", lora = "a" }]
)"))
                .find("LoRA adapters apply to local models only"),
            std::string::npos);
}

TEST(Config, TasksWithTheirKindsSettings) {
  LoadResult r = parse_config(R"(
[server]
task_workers = 3
task_queue = 50
task_timeout_ms = 2000

[tasks.sentiment]
kind = "text"
model = "models/sentiment.tmd"
explain = 8

[tasks.movies]
kind = "recsys"
model = "/data/movies.tmd"
top_n = 5
max_n = 20
fallback = false

[tasks.fashion]
kind = "vision"
model = "fashion.tmd"
top_k = 2
max_image_bytes = 100000
)",
                              "/etc/tandem/tandem.toml", no_env());
  ASSERT_TRUE(r.config) << joined(r.errors);
  const Config& c = *r.config;
  EXPECT_EQ(c.server.task_workers, 3);
  EXPECT_EQ(c.server.task_queue, 50u);
  EXPECT_EQ(c.server.task_timeout, Millis(2000));
  ASSERT_EQ(c.tasks.size(), 3u);
  const TaskConfig* s = c.find_task("sentiment");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->kind, "text");
  EXPECT_EQ(s->model, "/etc/tandem/models/sentiment.tmd");
  EXPECT_EQ(s->explain, 8);
  const TaskConfig* m = c.find_task("movies");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->model, "/data/movies.tmd");
  EXPECT_EQ(m->top_n, 5);
  EXPECT_EQ(m->max_n, 20);
  EXPECT_FALSE(m->fallback);
  const TaskConfig* f = c.find_task("fashion");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->top_k, 2);
  EXPECT_EQ(f->max_image_bytes, 100000u);
  EXPECT_EQ(c.find_task("nope"), nullptr);
  EXPECT_TRUE(c.models.empty());  // tasks alone are a valid config
}

TEST(Config, TaskErrors) {
  EXPECT_EQ(single_error("[tasks.t]\nkind = \"audio\"\nmodel = \"m\"\n"),
            "t.toml:2:8: tasks.t.kind: unknown task kind 'audio' (supported: text, recsys, "
            "vision)");
  EXPECT_EQ(single_error("[tasks.t]\nkind = \"text\"\n"),
            "t.toml:1:1: tasks.t: missing required key 'model'");
  // A setting of another kind is an unknown key, not silently ignored.
  EXPECT_EQ(single_error("[tasks.t]\nkind = \"text\"\nmodel = \"m\"\ntop_k = 3\n"),
            "t.toml:4:9: tasks.t.top_k: unknown key");
  EXPECT_EQ(single_error("[tasks.t]\nkind = \"recsys\"\nmodel = \"m\"\ntop_n = 50\nmax_n = 10\n"),
            "t.toml:1:1: tasks.t: top_n must not exceed max_n");
  EXPECT_EQ(single_error("[tasks.\"a/b\"]\nkind = \"text\"\nmodel = \"m\"\n"),
            "t.toml:1:1: tasks.a/b: task names use letters, digits and -_.");
  EXPECT_EQ(single_error("[tasks.t]\nkind = \"text\"\nmodel = \"m\"\nexplain = 99\n"),
            "t.toml:4:11: tasks.t.explain: must be between 0 and 50");
  EXPECT_EQ(single_error("tasks = 3\n"), "t.toml:1:9: tasks: must be a table of task tables");
}

namespace tandem::config {
namespace {

constexpr std::string_view kHybridBase = R"([providers.p]
kind = "openai"
base_url = "http://127.0.0.1:9/v1"

[models.small]
routes = [{ provider = "p", model = "small-1" }]

[models.emb]
type = "embeddings"
routes = [{ provider = "p", model = "emb-1" }]
)";

std::string hybrid(std::string_view task) {
  return std::string(kHybridBase) + std::string(task);
}

TEST(ConfigTasks, HybridTaskWithVariantsPolicyRulesAndDistillation) {
  Config c = must_parse(hybrid(R"(
[tasks.sentiment]
labels = ["negative", "positive"]
record = "records/sentiment.jsonl"

[tasks.sentiment.variants.fast]
kind = "tailored"
artifact = "sentiment.tandem"

[tasks.sentiment.variants.llm]
kind = "llm"
model = "small"
system = "You label reviews."
template = "Review: {{ text }}"
examples = [{ input = "great", output = "positive" }, { input = { text = "awful" }, output = "negative" }]
retrieve_examples = 1
temperature = 0.7
confidence = "agreement"
samples = 3

[tasks.sentiment.policy]
kind = "cascade"
variants = ["fast", "llm"]
thresholds = [0.8]
fallback = ["fast"]

[[tasks.sentiment.rules]]
when = { stakes = ["high"], explain = false }
use = ["llm", "fast"]

[tasks.sentiment.distill]
teacher = "llm"
artifact = "distilled.tandem"
agreement = 0.9
)"));
  ASSERT_EQ(c.tasks.size(), 1u);
  const TaskConfig& t = c.tasks[0];
  EXPECT_EQ(t.kind, "text");
  EXPECT_EQ(t.contract, "labels");
  EXPECT_EQ(t.labels, (std::vector<std::string>{"negative", "positive"}));
  EXPECT_EQ(t.input_fields, std::vector<std::string>{"text"});
  EXPECT_EQ(t.record, "records/sentiment.jsonl");
  ASSERT_EQ(t.variants.size(), 2u);
  const VariantConfig* llm = t.find_variant("llm");
  ASSERT_NE(llm, nullptr);
  EXPECT_EQ(llm->model, "small");
  EXPECT_EQ(llm->user_template, "Review: {{ text }}");
  EXPECT_EQ(llm->system_template, "You label reviews.");
  ASSERT_EQ(llm->examples.size(), 2u);
  EXPECT_EQ(llm->examples[0].input_json, R"({"text":"great"})");
  EXPECT_EQ(llm->examples[0].output_json, R"("positive")");
  EXPECT_EQ(llm->examples[1].input_json, R"({"text":"awful"})");
  EXPECT_EQ(llm->retrieve_examples, 1);
  EXPECT_EQ(llm->confidence, "agreement");
  EXPECT_EQ(llm->samples, 3);
  EXPECT_EQ(t.find_variant("fast")->artifact, "sentiment.tandem");
  EXPECT_EQ(t.policy.kind, "cascade");
  EXPECT_EQ(t.policy.variants, (std::vector<std::string>{"fast", "llm"}));
  EXPECT_EQ(t.policy.thresholds, std::vector<double>{0.8});
  EXPECT_EQ(t.policy.fallback, std::vector<std::string>{"fast"});
  ASSERT_EQ(t.rules.size(), 1u);
  EXPECT_EQ(t.rules[0].stakes, std::vector<std::string>{"high"});
  EXPECT_EQ(t.rules[0].explain, false);
  EXPECT_EQ(t.rules[0].use, (std::vector<std::string>{"llm", "fast"}));
  ASSERT_TRUE(t.distill.has_value());
  EXPECT_EQ(t.distill->teacher, "llm");
  EXPECT_DOUBLE_EQ(t.distill->agreement, 0.9);
}

TEST(ConfigTasks, ShortFormIsOneTailoredVariant) {
  Config c = must_parse("[tasks.t]\nkind = \"recsys\"\nmodel = \"m.tandem\"\n");
  const TaskConfig& t = c.tasks[0];
  ASSERT_EQ(t.variants.size(), 1u);
  EXPECT_EQ(t.variants[0].name, "model");
  EXPECT_EQ(t.variants[0].kind, "tailored");
  EXPECT_EQ(t.variants[0].artifact, "m.tandem");
  EXPECT_EQ(t.policy.kind, "single");
  EXPECT_EQ(t.policy.variants, std::vector<std::string>{"model"});
  EXPECT_EQ(t.contract, "ranked");
}

TEST(ConfigTasks, VariantAndPolicyErrorsNameTheKey) {
  auto llm = [](std::string_view extra) {
    return hybrid(std::string("[tasks.t]\nlabels = [\"a\", \"b\"]\n[tasks.t.variants.v]\nkind = "
                              "\"llm\"\nmodel = \"small\"\ntemplate = \"{{ text }}\"\n") +
                  std::string(extra));
  };
  EXPECT_EQ(single_error(llm("temperature = 3\n")),
            "t.toml:17:15: tasks.t.variants.v.temperature: must be a number between 0 and 2");
  EXPECT_EQ(
      single_error(llm("confidence = \"vibes\"\n")),
      "t.toml:17:14: tasks.t.variants.v.confidence: must be one of logprobs, agreement, router, "
      "router_agreement, none");
  EXPECT_EQ(single_error(llm("confidence = \"agreement\"\n")),
            "t.toml:13:1: tasks.t.variants.v: confidence = \"agreement\" needs temperature > 0 "
            "(greedy samples always agree)");
  EXPECT_EQ(single_error(llm("retrieve_examples = 2\n")),
            "t.toml:13:1: tasks.t.variants.v: retrieve_examples needs examples or examples_file");
  EXPECT_EQ(single_error(llm("embedder = \"small\"\n")),
            "t.toml:17:12: tasks.t.variants.v.embedder: must be \"glove\" or an embeddings "
            "[models.<name>] served by a local or an OpenAI-compatible provider: 'small' is a chat "
            "model (an embedder needs type = \"embeddings\")");
  EXPECT_EQ(single_error(llm("embedder = \"nope\"\n")),
            "t.toml:17:12: tasks.t.variants.v.embedder: must be \"glove\" or an embeddings "
            "[models.<name>] served by a local or an OpenAI-compatible provider: no "
            "[models.nope] is configured");
  EXPECT_EQ(single_error(llm("examples_file = \"/nonexistent/ex.jsonl\"\n")),
            "t.toml:17:17: tasks.t.variants.v.examples_file: cannot read '/nonexistent/ex.jsonl'");
  EXPECT_EQ(single_error(hybrid("[tasks.t]\nlabels = [\"a\", \"b\"]\n[tasks.t.variants.v]\nkind = "
                                "\"llm\"\nmodel = \"nope\"\ntemplate = \"x\"\n")),
            "t.toml:15:9: tasks.t.variants.v.model: no [models.nope] is configured");
  EXPECT_EQ(single_error(hybrid("[tasks.t]\nlabels = [\"a\", \"b\"]\n[tasks.t.variants.v]\nkind = "
                                "\"llm\"\nmodel = \"emb\"\ntemplate = \"x\"\n")),
            "t.toml:15:9: tasks.t.variants.v.model: 'emb' is an embeddings model; an llm variant "
            "needs a chat model");
  EXPECT_EQ(
      single_error(hybrid("[tasks.t]\nlabels = [\"a\", \"b\"]\n[tasks.t.variants.v]\nkind = "
                          "\"llm\"\nmodel = \"small\"\n")),
      "t.toml:13:1: tasks.t.variants.v: missing required key 'template' (or 'template_file')");
  EXPECT_EQ(single_error(hybrid("[tasks.t]\n[tasks.t.variants.v]\nkind = \"llm\"\nmodel = "
                                "\"small\"\ntemplate = \"x\"\n")),
            "t.toml:11:1: tasks.t: a labels task with llm variants needs `labels` (at least two)");
  EXPECT_EQ(
      single_error(hybrid(
          "[tasks.t]\nkind = \"vision\"\nlabels = [\"a\", \"b\"]\n[tasks.t.variants.v]\nkind = "
          "\"llm\"\nmodel = \"small\"\ntemplate = \"x\"\n")),
      "t.toml:14:1: tasks.t.variants.v: llm variants need a text task (this task's kind is "
      "vision)");
  // Policies.
  std::string two = "[tasks.t.variants.w]\nkind = \"tailored\"\nartifact = \"w.tandem\"\n";
  EXPECT_EQ(single_error(llm(two)),
            "t.toml:11:1: tasks.t: a task with several variants needs [tasks.t.policy]");
  EXPECT_EQ(single_error(llm(two + "[tasks.t.policy]\nkind = \"cascade\"\nvariants = [\"w\", "
                                   "\"v\"]\n")),
            "t.toml:20:1: tasks.t.policy: a cascade of 2 stages needs 1 thresholds (one per stage "
            "but the last), or thresholds_file");
  EXPECT_EQ(single_error(llm(two + "[tasks.t.policy]\nkind = \"cascade\"\nvariants = [\"w\", "
                                   "\"x\"]\nthresholds = [0.5]\n")),
            "t.toml:22:12: tasks.t.policy.variants: no variant named 'x'");
  EXPECT_EQ(single_error(llm(two + "[tasks.t.policy]\nkind = \"split\"\nvariants = [\"w\", "
                                   "\"v\"]\nweights = [1]\n")),
            "t.toml:20:1: tasks.t.policy: a split needs one weight per variant, at least one of "
            "them above 0");
  EXPECT_EQ(single_error(llm(two + "[tasks.t.policy]\nkind = \"router\"\nvariants = [\"w\", "
                                   "\"v\"]\n")),
            "t.toml:20:1: tasks.t.policy: a router policy needs `router` (an artifact of `tandem "
            "train router`)");
  EXPECT_EQ(single_error(llm(two + "[tasks.t.policy]\nkind = \"bandit\"\n")),
            "t.toml:21:8: tasks.t.policy.kind: unknown policy kind 'bandit' (supported: single, "
            "cascade, split, router)");
  // Rules.
  EXPECT_EQ(single_error(llm("[[tasks.t.rules]]\nwhen = { stakes = [\"extreme\"] }\nuse = "
                             "[\"v\"]\n")),
            "t.toml:18:8: tasks.t.rules[0].when: stakes are low, medium or high, not 'extreme'");
  EXPECT_EQ(single_error(llm("[[tasks.t.rules]]\nwhen = { moon = \"full\" }\nuse = [\"v\"]\n")),
            "t.toml:18:17: tasks.t.rules[0].when.moon: unknown key");
  EXPECT_EQ(single_error(llm("[[tasks.t.rules]]\nwhen = { explain = true }\n")),
            "t.toml:17:1: tasks.t.rules[0]: a rule needs `use`: the variants it runs, in order");
  // Names and confidences that only make sense with other parts of the task.
  EXPECT_EQ(single_error(hybrid("[tasks.t]\nlabels = [\"a\", \"b\"]\n[tasks.t.variants.distilled]\n"
                                "kind = \"llm\"\nmodel = \"small\"\ntemplate = \"x\"\n")),
            "t.toml:13:1: tasks.t.variants.distilled: the variant name 'distilled' is reserved for "
            "the model `tandem distill` writes");
  EXPECT_EQ(single_error(llm("confidence = \"router\"\n")),
            "t.toml:11:1: tasks.t: variant 'v': confidence = \"router\" needs policy.router (an "
            "artifact of `tandem train router`)");
  EXPECT_EQ(single_error(llm("confidence = \"router_agreement\"\n")),
            "t.toml:11:1: tasks.t: variant 'v': confidence = \"router_agreement\" needs "
            "policy.router (an artifact of `tandem train router`)");
  EXPECT_EQ(single_error(hybrid("[tasks.t]\ncontract = \"text\"\n[tasks.t.variants.v]\nkind = "
                                "\"llm\"\nmodel = \"small\"\ntemplate = \"x\"\nconfidence = "
                                "\"router_agreement\"\n[tasks.t.variants.w]\nkind = \"llm\"\n"
                                "model = \"small\"\ntemplate = \"x\"\n[tasks.t.policy]\nkind = "
                                "\"cascade\"\nvariants = [\"v\", \"w\"]\nthresholds = [0.5]\n"
                                "router = \"r.tandem\"\n")),
            "t.toml:11:1: tasks.t: variant 'v': confidence = \"router_agreement\" compares label "
            "answers: the task needs labels");
  // Distillation.
  EXPECT_EQ(single_error(llm("[tasks.t.distill]\nteacher = \"v\"\nartifact = \"d.tandem\"\n")),
            "t.toml:17:1: tasks.t.distill: distillation learns from the task's records: set "
            "`record` on the task");
}

// Any provider that serves /v1/embeddings can embed few-shot retrieval: a remote
// OpenAI-compatible one as well as a local one; recorded answers cannot.
TEST(ConfigTasks, EmbedderIsAnEmbeddingsModelOnAProviderThatEmbeds) {
  const std::string variant =
      "[tasks.t]\nlabels = [\"a\", \"b\"]\n[tasks.t.variants.v]\nkind = \"llm\"\nmodel = "
      "\"small\"\ntemplate = \"{{ text }}\"\nexamples = [{ input = \"x\", output = \"a\" }]\n"
      "retrieve_examples = 1\n";
  Config c = must_parse(hybrid(variant + "embedder = \"emb\"\n"));
  EXPECT_EQ(c.tasks.at(0).variants.at(0).embedder, "emb");
  EXPECT_EQ(c.tasks.at(0).variants.at(0).retrieve_examples, 1);

  // An embeddings model with a replayed route: the error names the model, the provider and the
  // position of the variant's key.
  std::string replayed = R"(
[providers.rec]
kind = "replay"
data = "recorded.csv"
[models.recorded-emb]
type = "embeddings"
routes = [{ provider = "p", model = "emb-1" }, { provider = "rec", model = "emb-1" }]
)";
  EXPECT_EQ(single_error(hybrid(replayed + variant + "embedder = \"recorded-emb\"\n")),
            "t.toml:26:12: tasks.t.variants.v.embedder: must be \"glove\" or an embeddings "
            "[models.<name>] served by a local or an OpenAI-compatible provider: 'recorded-emb' "
            "routes to replay provider 'rec', which has recorded chat answers only and cannot "
            "embed");
}

}  // namespace
}  // namespace tandem::config
