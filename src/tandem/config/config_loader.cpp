#include "tandem/config/config_loader.h"

#include <toml++/toml.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace tandem::config {

const LocalModelConfig* ProviderConfig::find_local_model(std::string_view name) const {
  for (const auto& m : local_models) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

const ModelConfig* Config::find_model(std::string_view name) const {
  for (const auto& m : models) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

const TaskConfig* Config::find_task(std::string_view name) const {
  for (const auto& t : tasks) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

EnvLookup process_environment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

namespace {

// Walks one TOML table, reading typed keys and recording every problem with its position. Keys
// that were never read are reported as unknown, so a typo never silently falls back to a default.
class TableReader {
 public:
  TableReader(const toml::table& table, std::string path, std::string_view source,
              std::vector<std::string>& errors)
      : table_(table), path_(std::move(path)), source_(source), errors_(errors) {}

  ~TableReader() {
    for (const auto& [key, node] : table_) {
      if (!seen_.contains(std::string(key.str()))) {
        error_at(node, qualified(key.str()), "unknown key");
      }
    }
  }

  void error_at(const toml::node& node, const std::string& key, const std::string& what) {
    const auto& src = node.source();
    std::ostringstream out;
    out << source_ << ':' << src.begin.line << ':' << src.begin.column << ": " << key << ": "
        << what;
    errors_.push_back(out.str());
  }
  void error_here(const std::string& what) { error_at(table_, path_, what); }

  std::string qualified(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }

  const toml::node* get(std::string_view key) {
    seen_.insert(std::string(key));
    return table_.get(key);
  }

  void read_string(std::string_view key, std::string& out, bool required = false) {
    const toml::node* node = get(key);
    if (node == nullptr) {
      if (required) error_here("missing required key '" + std::string(key) + "'");
      return;
    }
    if (auto v = node->value<std::string>(); v && node->is_string()) {
      out = *v;
    } else {
      error_at(*node, qualified(key), "must be a string");
    }
  }

  template <typename Int>
  void read_int(std::string_view key, Int& out, std::int64_t min, std::int64_t max) {
    const toml::node* node = get(key);
    if (node == nullptr) return;
    if (!node->is_integer()) {
      error_at(*node, qualified(key), "must be an integer");
      return;
    }
    std::int64_t v = *node->value<std::int64_t>();
    if (v < min || v > max) {
      error_at(*node, qualified(key),
               "must be between " + std::to_string(min) + " and " + std::to_string(max));
      return;
    }
    out = static_cast<Int>(v);
  }

  void read_millis(std::string_view key, Millis& out, std::int64_t min = 1,
                   std::int64_t max = 86'400'000) {
    std::int64_t v = out.count();
    read_int(key, v, min, max);
    out = Millis(v);
  }

  void read_bool(std::string_view key, bool& out) {
    const toml::node* node = get(key);
    if (node == nullptr) return;
    if (!node->is_boolean()) {
      error_at(*node, qualified(key), "must be true or false");
      return;
    }
    out = *node->value<bool>();
  }

  // A price in USD per million tokens, as a number (0.15) or a decimal string ("0.15").
  bool read_price(std::string_view key, std::int64_t& out) {
    const toml::node* node = get(key);
    if (node == nullptr) return false;
    std::optional<std::int64_t> micro;
    if (node->is_string()) {
      micro = core::parse_usd_micro(*node->value<std::string>());
    } else if (node->is_integer()) {
      micro = core::usd_double_to_micro(static_cast<double>(*node->value<std::int64_t>()));
    } else if (node->is_floating_point()) {
      micro = core::usd_double_to_micro(*node->value<double>());
    } else {
      error_at(*node, qualified(key), "must be a number of USD per million tokens");
      return false;
    }
    if (!micro) {
      error_at(*node, qualified(key), "must be a non-negative USD amount with at most 6 decimals");
      return false;
    }
    out = *micro;
    return true;
  }

  const toml::table& table() const { return table_; }
  const std::string& path() const { return path_; }

 private:
  const toml::table& table_;
  std::string path_;
  std::string_view source_;
  std::vector<std::string>& errors_;
  std::set<std::string> seen_;
};

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':' || c == '/';
    if (!ok) return false;
  }
  return true;
}

void read_server(TableReader& r, ServerConfig& s) {
  r.read_string("host", s.host);
  r.read_int("port", s.port, 0, 65535);
  r.read_int("threads", s.threads, 0, 256);
  r.read_int("max_body_bytes", s.max_body_bytes, 1024, 1LL << 30);
  r.read_int("max_header_bytes", s.max_header_bytes, 1024, 1 << 20);
  r.read_millis("read_timeout_ms", s.read_timeout);
  r.read_millis("idle_timeout_ms", s.idle_timeout);
  r.read_millis("drain_timeout_ms", s.drain_timeout, 0);
  r.read_int("max_json_depth", s.max_json_depth, 2, 512);
  r.read_bool("metrics_require_auth", s.metrics_require_auth);
  r.read_string("log_level", s.log_level);
  r.read_int("task_workers", s.task_workers, 0, 256);
  r.read_int("task_queue", s.task_queue, 1, 1 << 20);
  r.read_millis("task_timeout_ms", s.task_timeout);
  static const std::set<std::string> levels{"debug", "info", "warn", "error"};
  if (!levels.contains(s.log_level)) {
    r.error_at(*r.table().get("log_level"), r.qualified("log_level"),
               "must be one of debug, info, warn, error");
  }
}

// [providers.<name>.models.<model>] of a local provider: GGUF files served in process.
void read_local_models(TableReader& r, ProviderConfig& p, const std::filesystem::path& base_dir,
                       std::string_view source, std::vector<std::string>& errors) {
  const toml::node* models = r.get("models");
  const toml::table* table = models != nullptr ? models->as_table() : nullptr;
  if (table == nullptr || table->empty()) {
    r.error_here("a local provider needs [" + r.qualified("models") +
                 ".<name>] tables, each with a GGUF path");
    return;
  }
  for (const auto& [name, node] : *table) {
    std::string path = r.qualified("models") + "." + std::string(name.str());
    const toml::table* mt = node.as_table();
    if (mt == nullptr) {
      r.error_at(node, path, "must be a table {path = \"model.gguf\", ...}");
      continue;
    }
    TableReader mr(*mt, path, source, errors);
    LocalModelConfig m;
    m.name = std::string(name.str());
    if (!valid_name(m.name)) mr.error_here("model names use letters, digits and -_.:/");
    mr.read_string("path", m.path, true);
    if (!m.path.empty() && std::filesystem::path(m.path).is_relative()) {
      m.path = (base_dir / m.path).lexically_normal().string();
    }
    mr.read_int("context", m.context, 16, 1 << 20);
    mr.read_int("parallel", m.parallel, 1, 256);
    mr.read_int("threads", m.threads, 0, 1024);
    mr.read_int("batch", m.batch, 1, 1 << 16);
    mr.read_int("gpu_layers", m.gpu_layers, -1, 100000);
    mr.read_bool("embeddings", m.embeddings);
    if (const toml::node* loras = mr.get("loras")) {
      const toml::table* lt = loras->as_table();
      if (lt == nullptr) {
        mr.error_at(*loras, path + ".loras", "must be a table of name = \"adapter.gguf\"");
      } else {
        for (const auto& [lname, lnode] : *lt) {
          LocalLoraConfig lora;
          lora.name = std::string(lname.str());
          if (auto v = lnode.value<std::string>(); v && lnode.is_string()) {
            lora.path = *v;
          } else {
            mr.error_at(lnode, path + ".loras." + lora.name, "must be a path to a LoRA GGUF");
            continue;
          }
          if (std::filesystem::path(lora.path).is_relative()) {
            lora.path = (base_dir / lora.path).lexically_normal().string();
          }
          m.loras.push_back(std::move(lora));
        }
      }
    }
    p.local_models.push_back(std::move(m));
  }
}

void read_provider(TableReader& r, ProviderConfig& p, const EnvLookup& env,
                   const std::filesystem::path& base_dir, std::string_view source,
                   std::vector<std::string>& errors) {
  r.read_string("kind", p.kind, true);
  if (p.kind == "local") {
    // In-process: no network, so no retries by default, and generation may take minutes.
    p.max_retries = 0;
    p.request_timeout = Millis(300'000);
    p.stream_idle_timeout = Millis(120'000);
    read_local_models(r, p, base_dir, source, errors);
    r.read_millis("request_timeout_ms", p.request_timeout);
    r.read_millis("stream_idle_timeout_ms", p.stream_idle_timeout);
    r.read_int("max_retries", p.max_retries, 0, 10);
    r.read_int("breaker_failure_threshold", p.breaker_failure_threshold, 1, 1'000);
    r.read_millis("breaker_cooldown_ms", p.breaker_cooldown);
    r.read_price("input_price_per_mtok", p.price.input_micro_usd_per_mtok);
    r.read_price("output_price_per_mtok", p.price.output_micro_usd_per_mtok);
    r.read_price("compute_price_per_hour", p.price.compute_micro_usd_per_hour);
    return;
  }
  if (!p.kind.empty() && p.kind != "openai") {
    r.error_at(*r.table().get("kind"), r.qualified("kind"),
               "unknown provider kind '" + p.kind + "' (supported: openai, local)");
  }
  std::string base_url;
  r.read_string("base_url", base_url, true);
  if (!base_url.empty()) {
    std::string why;
    if (auto url = parse_url(base_url, &why)) {
      p.base_url = *url;
    } else {
      r.error_at(*r.table().get("base_url"), r.qualified("base_url"), "'" + base_url + "' " + why);
    }
  }
  std::string key_env;
  r.read_string("api_key_env", key_env);
  if (!key_env.empty()) {
    if (auto value = env(key_env); value && !value->empty()) {
      p.api_key = *value;
    } else {
      r.error_at(*r.table().get("api_key_env"), r.qualified("api_key_env"),
                 "environment variable " + key_env + " is not set");
    }
  }
  r.read_millis("connect_timeout_ms", p.connect_timeout);
  r.read_millis("request_timeout_ms", p.request_timeout);
  r.read_millis("stream_idle_timeout_ms", p.stream_idle_timeout);
  r.read_int("max_retries", p.max_retries, 0, 10);
  r.read_millis("retry_base_delay_ms", p.retry_base_delay, 0);
  r.read_millis("retry_max_delay_ms", p.retry_max_delay, 0);
  r.read_int("max_idle_connections", p.max_idle_connections, 0, 10'000);
  r.read_int("breaker_failure_threshold", p.breaker_failure_threshold, 1, 1'000);
  r.read_millis("breaker_cooldown_ms", p.breaker_cooldown);
  r.read_bool("verify_tls", p.verify_tls);
  r.read_string("ca_file", p.ca_file);
  r.read_price("input_price_per_mtok", p.price.input_micro_usd_per_mtok);
  r.read_price("output_price_per_mtok", p.price.output_micro_usd_per_mtok);
}

void read_model(TableReader& r, ModelConfig& m, const std::vector<ProviderConfig>& providers,
                std::string_view source, std::vector<std::string>& errors) {
  std::string type = "chat";
  r.read_string("type", type);
  if (type == "embeddings") {
    m.embeddings = true;
  } else if (type != "chat") {
    r.error_at(*r.table().get("type"), r.qualified("type"), "must be \"chat\" or \"embeddings\"");
  }
  const toml::node* routes = r.get("routes");
  if (routes == nullptr) {
    r.error_here("missing required key 'routes' (an array of {provider, model})");
    return;
  }
  const toml::array* array = routes->as_array();
  if (array == nullptr || array->empty()) {
    r.error_at(*routes, r.qualified("routes"), "must be a non-empty array of tables");
    return;
  }
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::node& item = (*array)[i];
    std::string path = r.qualified("routes") + "[" + std::to_string(i) + "]";
    const toml::table* t = item.as_table();
    if (t == nullptr) {
      std::ostringstream out;
      out << source << ':' << item.source().begin.line << ':' << item.source().begin.column << ": "
          << path << ": must be a table {provider = \"...\", model = \"...\"}";
      errors.push_back(out.str());
      continue;
    }
    TableReader rr(*t, path, source, errors);
    RouteConfig route;
    rr.read_string("provider", route.provider, true);
    rr.read_string("model", route.model, true);
    rr.read_string("lora", route.lora);
    const ProviderConfig* provider = nullptr;
    for (std::size_t p = 0; p < providers.size(); ++p) {
      if (providers[p].name == route.provider) {
        route.provider_index = p;
        route.price = providers[p].price;
        provider = &providers[p];
      }
    }
    if (provider == nullptr && !route.provider.empty()) {
      rr.error_at(*t->get("provider"), path + ".provider",
                  "no provider named '" + route.provider + "' in [providers]");
    }
    if (provider != nullptr && provider->kind == "local" && !route.model.empty()) {
      const LocalModelConfig* local = provider->find_local_model(route.model);
      if (local == nullptr) {
        rr.error_at(*t->get("model"), path + ".model",
                    "provider '" + route.provider + "' has no model '" + route.model + "'");
      } else {
        if (local->embeddings != m.embeddings) {
          rr.error_at(*t->get("model"), path + ".model",
                      "local model '" + route.model + "' is " +
                          (local->embeddings ? "an embeddings" : "a chat") + " model");
        }
        bool known = route.lora.empty();
        for (const auto& l : local->loras) known = known || l.name == route.lora;
        if (!known) {
          rr.error_at(*t->get("lora"), path + ".lora",
                      "local model '" + route.model + "' has no LoRA adapter '" + route.lora + "'");
        }
      }
    } else if (!route.lora.empty() && provider != nullptr) {
      rr.error_at(*t->get("lora"), path + ".lora", "LoRA adapters apply to local models only");
    }
    rr.read_price("input_price_per_mtok", route.price.input_micro_usd_per_mtok);
    rr.read_price("output_price_per_mtok", route.price.output_micro_usd_per_mtok);
    rr.read_price("compute_price_per_hour", route.price.compute_micro_usd_per_hour);
    route.label = route.provider + ":" + route.model;
    m.routes.push_back(std::move(route));
  }
}

// [tasks.<name>]: a tailored model served on /v1/tasks/<name>.
void read_task(TableReader& r, TaskConfig& t, const std::filesystem::path& base_dir) {
  r.read_string("kind", t.kind, true);
  static const std::set<std::string> kinds{"text", "recsys", "vision"};
  if (!t.kind.empty() && !kinds.contains(t.kind)) {
    r.error_at(*r.table().get("kind"), r.qualified("kind"),
               "unknown task kind '" + t.kind + "' (supported: text, recsys, vision)");
  }
  r.read_string("model", t.model, true);
  if (!t.model.empty() && std::filesystem::path(t.model).is_relative()) {
    t.model = (base_dir / t.model).lexically_normal().string();
  }
  // Each kind's settings are accepted only for that kind, so a misplaced one is an error.
  if (t.kind == "text") {
    r.read_int("explain", t.explain, 0, 50);
  } else if (t.kind == "recsys") {
    r.read_int("top_n", t.top_n, 1, 10'000);
    r.read_int("max_n", t.max_n, 1, 10'000);
    r.read_bool("fallback", t.fallback);
    if (t.top_n > t.max_n) r.error_here("top_n must not exceed max_n");
  } else if (t.kind == "vision") {
    r.read_int("top_k", t.top_k, 1, 1'000);
    r.read_int("max_image_bytes", t.max_image_bytes, 64, 64 << 20);
  }
}

}  // namespace

LoadResult parse_config(std::string_view toml_text, std::string_view source_name,
                        const EnvLookup& env) {
  LoadResult result;
  toml::table root;
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    std::ostringstream out;
    out << source_name << ':' << e.source().begin.line << ':' << e.source().begin.column << ": "
        << e.description();
    result.errors.push_back(out.str());
    return result;
  }
  Config config;
  std::vector<std::string>& errors = result.errors;
  // Relative model paths are relative to the config file, wherever the server is started.
  std::filesystem::path base_dir = std::filesystem::path(source_name).parent_path();
  {
    TableReader top(root, "", source_name, errors);
    if (const toml::node* server = top.get("server")) {
      if (const toml::table* t = server->as_table()) {
        TableReader r(*t, "server", source_name, errors);
        read_server(r, config.server);
      } else {
        top.error_at(*server, "server", "must be a table");
      }
    }
    if (const toml::node* providers = top.get("providers")) {
      if (const toml::table* t = providers->as_table()) {
        for (const auto& [name, node] : *t) {
          std::string path = "providers." + std::string(name.str());
          const toml::table* pt = node.as_table();
          if (pt == nullptr) {
            top.error_at(node, path, "must be a table");
            continue;
          }
          TableReader r(*pt, path, source_name, errors);
          ProviderConfig p;
          p.name = std::string(name.str());
          if (!valid_name(p.name)) r.error_here("provider names use letters, digits and -_.:/");
          read_provider(r, p, env, base_dir, source_name, errors);
          config.providers.push_back(std::move(p));
        }
      } else {
        top.error_at(*providers, "providers", "must be a table of provider tables");
      }
    }
    if (const toml::node* models = top.get("models")) {
      if (const toml::table* t = models->as_table()) {
        for (const auto& [name, node] : *t) {
          std::string path = "models." + std::string(name.str());
          const toml::table* mt = node.as_table();
          if (mt == nullptr) {
            top.error_at(node, path, "must be a table");
            continue;
          }
          TableReader r(*mt, path, source_name, errors);
          ModelConfig m;
          m.name = std::string(name.str());
          if (!valid_name(m.name)) r.error_here("model names use letters, digits and -_.:/");
          read_model(r, m, config.providers, source_name, errors);
          config.models.push_back(std::move(m));
        }
      } else {
        top.error_at(*models, "models", "must be a table of model tables");
      }
    }
    if (const toml::node* tasks = top.get("tasks")) {
      if (const toml::table* t = tasks->as_table()) {
        for (const auto& [name, node] : *t) {
          std::string path = "tasks." + std::string(name.str());
          const toml::table* tt = node.as_table();
          if (tt == nullptr) {
            top.error_at(node, path, "must be a table {kind = \"...\", model = \"...\"}");
            continue;
          }
          TableReader r(*tt, path, source_name, errors);
          TaskConfig task;
          task.name = std::string(name.str());
          // Task names appear in the URL path: no '/' or ':' there.
          bool ok = valid_name(task.name) && task.name.find_first_of("/:") == std::string::npos;
          if (!ok) r.error_here("task names use letters, digits and -_.");
          read_task(r, task, base_dir);
          config.tasks.push_back(std::move(task));
        }
      } else {
        top.error_at(*tasks, "tasks", "must be a table of task tables");
      }
    }
    if (const toml::node* keys = top.get("client_keys")) {
      const toml::array* array = keys->as_array();
      if (array == nullptr) {
        top.error_at(*keys, "client_keys", "must be an array of tables ([[client_keys]])");
      } else {
        for (std::size_t i = 0; i < array->size(); ++i) {
          std::string path = "client_keys[" + std::to_string(i) + "]";
          const toml::table* kt = (*array)[i].as_table();
          if (kt == nullptr) {
            top.error_at((*array)[i], path, "must be a table {name, key_env}");
            continue;
          }
          TableReader r(*kt, path, source_name, errors);
          ClientKey key;
          r.read_string("name", key.name, true);
          std::string key_env;
          r.read_string("key_env", key_env);
          r.read_string("key", key.key);
          if (!key_env.empty() && !key.key.empty()) {
            r.error_here("set either key_env or key, not both");
          } else if (!key_env.empty()) {
            if (auto value = env(key_env); value && !value->empty()) {
              key.key = *value;
            } else {
              r.error_at(*kt->get("key_env"), path + ".key_env",
                         "environment variable " + key_env + " is not set");
            }
          } else if (key.key.empty()) {
            r.error_here("needs key_env (preferred) or key");
          }
          if (!key.key.empty() && key.key.size() < 16) {
            r.error_here("client keys must be at least 16 characters");
          }
          config.client_keys.push_back(std::move(key));
        }
      }
    }
  }
  if (config.models.empty() && config.tasks.empty() && errors.empty()) {
    errors.push_back(std::string(source_name) +
                     ": models: at least one [models.<name>] or [tasks.<name>] is needed");
  }
  if (!errors.empty()) return result;
  result.config = std::move(config);
  return result;
}

LoadResult load_config_file(const std::string& path, const EnvLookup& env) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult r;
    r.errors.push_back(path + ": cannot open config file");
    return r;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_config(buffer.str(), path, env);
}

}  // namespace tandem::config
