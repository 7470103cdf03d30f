#include "tandem/config/config_loader.h"

#include <toml++/toml.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
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

const VariantConfig* TaskConfig::find_variant(std::string_view variant) const {
  for (const auto& v : variants) {
    if (v.name == variant) return &v;
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
  r.read_string("language_model", s.language_model);
  static const std::set<std::string> levels{"debug", "info", "warn", "error"};
  if (!levels.contains(s.log_level)) {
    r.error_at(*r.table().get("log_level"), r.qualified("log_level"),
               "must be one of debug, info, warn, error");
  }
}

// Paths in the config are relative to the config file, wherever the server is started.
std::string resolve_path(const std::string& path, const std::filesystem::path& base_dir) {
  if (path.empty() || !std::filesystem::path(path).is_relative()) return path;
  return (base_dir / path).lexically_normal().string();
}

void read_double(TableReader& r, std::string_view key, double& out, double min, double max) {
  const toml::node* node = r.get(key);
  if (node == nullptr) return;
  std::optional<double> v;
  if (node->is_floating_point()) v = *node->value<double>();
  if (node->is_integer()) v = static_cast<double>(*node->value<std::int64_t>());
  if (!v || !(*v >= min && *v <= max)) {
    std::ostringstream what;
    what << "must be a number between " << min << " and " << max;
    r.error_at(*node, r.qualified(key), what.str());
    return;
  }
  out = *v;
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
    read_double(mr, "start_gap_ms", m.start_gap_ms, 0, 1000);
    read_double(mr, "start_max_ms", m.start_max_ms, 0, 10'000);
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
  if (p.kind == "replay") {
    // Recorded answers, read from disk: no network, nothing to retry.
    p.max_retries = 0;
    r.read_string("data", p.replay_data, true);
    p.replay_data = resolve_path(p.replay_data, base_dir);
    r.read_string("format", p.replay_format);
    if (!p.replay_format.empty() && p.replay_format != "routerbench" &&
        p.replay_format != "routellm") {
      r.error_at(*r.table().get("format"), r.qualified("format"),
                 "must be routerbench or routellm (or left out to detect it)");
    }
    r.read_price("input_price_per_mtok", p.price.input_micro_usd_per_mtok);
    r.read_price("output_price_per_mtok", p.price.output_micro_usd_per_mtok);
    r.read_price("request_price", p.price.request_micro_usd);
    return;
  }
  if (!p.kind.empty() && p.kind != "openai") {
    r.error_at(*r.table().get("kind"), r.qualified("kind"),
               "unknown provider kind '" + p.kind + "' (supported: openai, local, replay)");
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
    rr.read_price("request_price", route.price.request_micro_usd);
    route.label = route.provider + ":" + route.model;
    m.routes.push_back(std::move(route));
  }
}

// Reads a whole (small) file named by the config: templates, schemas, example lists.
std::optional<std::string> read_text_file(const std::string& path, std::string* why) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *why = "cannot read '" + path + "'";
    return std::nullopt;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// An array of strings (`labels`, `variants`, ...). Returns false (after an error) for any other
// shape.
bool read_string_list(TableReader& r, std::string_view key, std::vector<std::string>& out) {
  const toml::node* node = r.get(key);
  if (node == nullptr) return true;
  const toml::array* array = node->as_array();
  if (array == nullptr) {
    r.error_at(*node, r.qualified(key), "must be an array of strings");
    return false;
  }
  std::vector<std::string> values;
  for (const auto& item : *array) {
    auto v = item.value<std::string>();
    if (!v || !item.is_string()) {
      r.error_at(item, r.qualified(key), "must be an array of strings");
      return false;
    }
    values.push_back(*v);
  }
  out = std::move(values);
  return true;
}

bool read_number_list(TableReader& r, std::string_view key, std::vector<double>& out, double min,
                      double max) {
  const toml::node* node = r.get(key);
  if (node == nullptr) return true;
  const toml::array* array = node->as_array();
  if (array == nullptr) {
    r.error_at(*node, r.qualified(key), "must be an array of numbers");
    return false;
  }
  std::vector<double> values;
  for (const auto& item : *array) {
    std::optional<double> v;
    if (item.is_floating_point()) v = *item.value<double>();
    if (item.is_integer()) v = static_cast<double>(*item.value<std::int64_t>());
    if (!v || !(*v >= min && *v <= max)) {
      std::ostringstream what;
      what << "must be an array of numbers between " << min << " and " << max;
      r.error_at(item, r.qualified(key), what.str());
      return false;
    }
    values.push_back(*v);
  }
  out = std::move(values);
  return true;
}

// TOML value -> JSON text, for few-shot examples written inline in the config.
void append_json(const toml::node& node, std::string& out) {
  if (const toml::table* t = node.as_table()) {
    out += '{';
    bool first = true;
    for (const auto& [k, v] : *t) {
      if (!first) out += ',';
      first = false;
      out += boost::json::serialize(boost::json::string(k.str()));
      out += ':';
      append_json(v, out);
    }
    out += '}';
  } else if (const toml::array* a = node.as_array()) {
    out += '[';
    for (std::size_t i = 0; i < a->size(); ++i) {
      if (i > 0) out += ',';
      append_json((*a)[i], out);
    }
    out += ']';
  } else if (node.is_string()) {
    out += boost::json::serialize(boost::json::string(*node.value<std::string>()));
  } else if (node.is_integer()) {
    out += std::to_string(*node.value<std::int64_t>());
  } else if (node.is_floating_point()) {
    out += boost::json::serialize(boost::json::value(*node.value<double>()));
  } else if (node.is_boolean()) {
    out += *node.value<bool>() ? "true" : "false";
  } else {
    out += "null";  // dates and times have no JSON form
  }
}

// A template or schema given inline (`key`) or as a file (`key_file`), never both.
void read_inline_or_file(TableReader& r, std::string_view key, std::string& out,
                         const std::filesystem::path& base_dir, bool required) {
  std::string file_key = std::string(key) + "_file";
  std::string file;
  r.read_string(key, out);
  r.read_string(file_key, file);
  if (!out.empty() && !file.empty()) {
    r.error_here("set either " + std::string(key) + " or " + file_key + ", not both");
    return;
  }
  if (!file.empty()) {
    std::string why;
    if (auto text = read_text_file(resolve_path(file, base_dir), &why)) {
      out = std::move(*text);
    } else {
      r.error_at(*r.table().get(file_key), r.qualified(file_key), why);
    }
  } else if (out.empty() && required) {
    r.error_here("missing required key '" + std::string(key) + "' (or '" + file_key + "')");
  }
}

void read_examples(TableReader& r, VariantConfig& v, const std::filesystem::path& base_dir) {
  if (const toml::node* node = r.get("examples")) {
    const toml::array* array = node->as_array();
    if (array == nullptr) {
      r.error_at(*node, r.qualified("examples"),
                 "must be an array of {input = {...}, output = ...} tables");
      return;
    }
    for (std::size_t i = 0; i < array->size(); ++i) {
      const toml::table* t = (*array)[i].as_table();
      const toml::node* input = t != nullptr ? t->get("input") : nullptr;
      const toml::node* output = t != nullptr ? t->get("output") : nullptr;
      if (t == nullptr || input == nullptr || output == nullptr || t->size() != 2) {
        r.error_at((*array)[i], r.qualified("examples") + "[" + std::to_string(i) + "]",
                   "must be a table {input = {...}, output = ...}");
        continue;
      }
      ExampleConfig example;
      if (input->is_string()) {
        // A bare string is the text of a text input.
        example.input_json =
            "{\"text\":" +
            boost::json::serialize(boost::json::string(*input->value<std::string>())) + "}";
      } else if (input->is_table()) {
        append_json(*input, example.input_json);
      } else {
        r.error_at(*input, r.qualified("examples") + "[" + std::to_string(i) + "].input",
                   "must be a string or a table of input fields");
        continue;
      }
      append_json(*output, example.output_json);
      v.examples.push_back(std::move(example));
    }
  }
  std::string file;
  r.read_string("examples_file", file);
  if (file.empty()) return;
  if (!v.examples.empty()) {
    r.error_here("set either examples or examples_file, not both");
    return;
  }
  std::string path = resolve_path(file, base_dir);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    r.error_at(*r.table().get("examples_file"), r.qualified("examples_file"),
               "cannot read '" + path + "'");
    return;
  }
  // JSONL: one {"input": {...} or "text", "output": ...} per line.
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    boost::system::error_code ec;
    boost::json::value value = boost::json::parse(line, ec);
    const boost::json::object* object = ec ? nullptr : value.if_object();
    const boost::json::value* input = object ? object->if_contains("input") : nullptr;
    const boost::json::value* output = object ? object->if_contains("output") : nullptr;
    if (input == nullptr || output == nullptr || !(input->is_object() || input->is_string())) {
      r.error_at(*r.table().get("examples_file"), r.qualified("examples_file"),
                 path + ":" + std::to_string(number) +
                     ": each line must be a JSON object {\"input\": {...}, \"output\": ...}");
      return;
    }
    ExampleConfig example;
    example.input_json = input->is_string() ? "{\"text\":" + boost::json::serialize(*input) + "}"
                                            : boost::json::serialize(*input);
    example.output_json = boost::json::serialize(*output);
    v.examples.push_back(std::move(example));
  }
}

// [tasks.<name>.variants.<variant>]
void read_variant(TableReader& r, VariantConfig& v, const std::vector<ModelConfig>& models,
                  const std::vector<ProviderConfig>& providers,
                  const std::filesystem::path& base_dir) {
  r.read_string("kind", v.kind, true);
  if (v.kind == "tailored") {
    r.read_string("artifact", v.artifact, true);
    v.artifact = resolve_path(v.artifact, base_dir);
    return;
  }
  if (v.kind != "llm") {
    if (!v.kind.empty()) {
      r.error_at(*r.table().get("kind"), r.qualified("kind"),
                 "unknown variant kind '" + v.kind + "' (supported: tailored, llm)");
    }
    return;
  }
  r.read_string("model", v.model, true);
  if (!v.model.empty()) {
    const ModelConfig* model = nullptr;
    for (const auto& m : models) {
      if (m.name == v.model) model = &m;
    }
    if (model == nullptr) {
      r.error_at(*r.table().get("model"), r.qualified("model"),
                 "no [models." + v.model + "] is configured");
    } else if (model->embeddings) {
      r.error_at(*r.table().get("model"), r.qualified("model"),
                 "'" + v.model + "' is an embeddings model; an llm variant needs a chat model");
    }
  }
  read_inline_or_file(r, "template", v.user_template, base_dir, true);
  read_inline_or_file(r, "system", v.system_template, base_dir, false);
  read_examples(r, v, base_dir);
  r.read_int("retrieve_examples", v.retrieve_examples, 0, 64);
  r.read_string("embedder", v.embedder);
  if (v.embedder != "glove") {
    // An embeddings model on any provider that serves /v1/embeddings: in process (local) or an
    // OpenAI-compatible API. The prompt is then built on the worker pool, which waits for it.
    const ModelConfig* model = nullptr;
    for (const auto& m : models) {
      if (m.name == v.embedder) model = &m;
    }
    std::string problem;
    if (model == nullptr) {
      problem = "no [models." + v.embedder + "] is configured";
    } else if (!model->embeddings) {
      problem = "'" + v.embedder + "' is a chat model (an embedder needs type = \"embeddings\")";
    } else {
      for (const auto& route : model->routes) {
        if (route.provider_index < providers.size() &&
            providers[route.provider_index].kind == "replay") {
          problem = "'" + v.embedder + "' routes to replay provider '" + route.provider +
                    "', which has recorded chat answers only and cannot embed";
        }
      }
    }
    if (!problem.empty()) {
      r.error_at(*r.table().get("embedder"), r.qualified("embedder"),
                 "must be \"glove\" or an embeddings [models.<name>] served by a local or an "
                 "OpenAI-compatible provider: " +
                     problem);
    }
  }
  if (v.retrieve_examples > 0 && v.examples.empty()) {
    r.error_here("retrieve_examples needs examples or examples_file");
  }
  r.read_int("max_prompt_tokens", v.max_prompt_tokens, 0, 1 << 22);
  read_double(r, "temperature", v.temperature, 0, 2);
  read_double(r, "top_p", v.top_p, 0, 1);
  r.read_int("max_tokens", v.max_tokens, 1, 1 << 20);
  r.read_int("seed", v.seed, -1, std::numeric_limits<std::int64_t>::max());
  r.read_string("lora", v.lora);
  r.read_string("confidence", v.confidence);
  static const std::set<std::string> confidences{"logprobs", "agreement", "router",
                                                 "router_agreement", "none"};
  if (!confidences.contains(v.confidence)) {
    r.error_at(*r.table().get("confidence"), r.qualified("confidence"),
               "must be one of logprobs, agreement, router, router_agreement, none");
  }
  r.read_int("samples", v.samples, 2, 32);
  if (v.confidence == "agreement" && v.temperature == 0) {
    r.error_here("confidence = \"agreement\" needs temperature > 0 (greedy samples always agree)");
  }
}

void check_variant_names(TableReader& r, std::string_view key,
                         const std::vector<std::string>& names, const TaskConfig& t) {
  std::set<std::string> seen;
  for (const auto& name : names) {
    if (t.find_variant(name) == nullptr) {
      r.error_at(*r.table().get(key), r.qualified(key), "no variant named '" + name + "'");
    } else if (!seen.insert(name).second) {
      r.error_at(*r.table().get(key), r.qualified(key), "'" + name + "' is listed twice");
    }
  }
}

// [tasks.<name>.policy]
void read_policy(TableReader& r, TaskConfig& t, const std::filesystem::path& base_dir) {
  PolicyConfig& p = t.policy;
  r.read_string("kind", p.kind);
  static const std::set<std::string> kinds{"single", "cascade", "split", "router"};
  if (!kinds.contains(p.kind)) {
    r.error_at(*r.table().get("kind"), r.qualified("kind"),
               "unknown policy kind '" + p.kind + "' (supported: single, cascade, split, router)");
    return;
  }
  read_string_list(r, "variants", p.variants);
  check_variant_names(r, "variants", p.variants, t);
  read_number_list(r, "thresholds", p.thresholds, 0, 1);
  r.read_string("thresholds_file", p.thresholds_file);
  p.thresholds_file = resolve_path(p.thresholds_file, base_dir);
  read_number_list(r, "weights", p.weights, 0, 1e9);
  r.read_string("router", p.router);
  p.router = resolve_path(p.router, base_dir);
  read_double(r, "cost_weight", p.cost_weight, 0, 1);
  read_string_list(r, "fallback", p.fallback);
  check_variant_names(r, "fallback", p.fallback, t);
  std::size_t n = p.variants.size();
  if (p.kind == "single") {
    if (n > 1) r.error_here("a single policy names one variant");
  } else if (n < 2) {
    r.error_here("a " + p.kind + " policy needs at least two variants in `variants`");
  }
  if (p.kind == "cascade" && n >= 2 && p.thresholds_file.empty() && p.thresholds.size() != n - 1) {
    r.error_here("a cascade of " + std::to_string(n) + " stages needs " + std::to_string(n - 1) +
                 " thresholds (one per stage but the last), or thresholds_file");
  }
  if (p.kind != "cascade" && (!p.thresholds.empty() || !p.thresholds_file.empty())) {
    r.error_here("thresholds apply to cascade policies only");
  }
  if (p.kind == "split") {
    bool positive = false;
    for (double w : p.weights) positive = positive || w > 0;
    if (p.weights.size() != n || !positive) {
      r.error_here("a split needs one weight per variant, at least one of them above 0");
    }
  } else if (!p.weights.empty()) {
    r.error_here("weights apply to split policies only");
  }
  if (p.kind == "router" && p.router.empty()) {
    r.error_here("a router policy needs `router` (an artifact of `tandem train router`)");
  }
  if (p.kind != "router" && !p.router.empty() && p.kind != "cascade") {
    r.error_here("router applies to router and cascade policies only");
  }
}

// [[tasks.<name>.rules]]: the decision table, checked in order before the policy.
void read_rules(TableReader& r, TaskConfig& t, std::string_view source,
                std::vector<std::string>& errors) {
  const toml::node* node = r.get("rules");
  if (node == nullptr) return;
  const toml::array* array = node->as_array();
  if (array == nullptr) {
    r.error_at(*node, r.qualified("rules"),
               "must be an array of tables ([[" + r.qualified("rules") + "]])");
    return;
  }
  static const std::set<std::string> stakes{"low", "medium", "high"};
  static const std::set<std::string> resources{"low", "normal"};
  for (std::size_t i = 0; i < array->size(); ++i) {
    std::string path = r.qualified("rules") + "[" + std::to_string(i) + "]";
    const toml::table* rt = (*array)[i].as_table();
    if (rt == nullptr) {
      r.error_at((*array)[i], path, "must be a table {when = {...}, use = [...]}");
      continue;
    }
    TableReader rr(*rt, path, source, errors);
    RuleConfig rule;
    read_string_list(rr, "use", rule.use);
    if (rule.use.empty()) rr.error_here("a rule needs `use`: the variants it runs, in order");
    check_variant_names(rr, "use", rule.use, t);
    const toml::node* when = rr.get("when");
    const toml::table* wt = when != nullptr ? when->as_table() : nullptr;
    if (wt == nullptr) {
      rr.error_here("a rule needs `when`: a table of conditions");
    } else {
      TableReader wr(*wt, path + ".when", source, errors);
      read_string_list(wr, "stakes", rule.stakes);
      for (const auto& s : rule.stakes) {
        if (!stakes.contains(s)) wr.error_here("stakes are low, medium or high, not '" + s + "'");
      }
      if (wt->get("explain") != nullptr) {
        bool explain = false;
        wr.read_bool("explain", explain);
        rule.explain = explain;
      }
      read_string_list(wr, "resources", rule.resources);
      for (const auto& s : rule.resources) {
        if (!resources.contains(s)) wr.error_here("resources are low or normal, not '" + s + "'");
      }
      if (wt->get("latency_budget_below_ms") != nullptr) {
        int ms = 0;
        wr.read_int("latency_budget_below_ms", ms, 1, 86'400'000);
        rule.latency_budget_below_ms = ms;
      }
      if (wt->get("input_chars_above") != nullptr) {
        std::size_t n = 0;
        wr.read_int("input_chars_above", n, 0, 1LL << 40);
        rule.input_chars_above = n;
      }
      if (wt->get("input_chars_below") != nullptr) {
        std::size_t n = 0;
        wr.read_int("input_chars_below", n, 1, 1LL << 40);
        rule.input_chars_below = n;
      }
      read_string_list(wr, "languages", rule.languages);
      if (wt->empty()) wr.error_here("a rule needs at least one condition");
    }
    t.rules.push_back(std::move(rule));
  }
}

// The short form [tasks.<name>] kind + model: one tailored model, as in the first release.
void read_tailored_settings(TableReader& r, TaskConfig& t) {
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

// [tasks.<name>]: a task served on /v1/tasks/<name>.
void read_task(TableReader& r, TaskConfig& t, const std::vector<ModelConfig>& models,
               const std::vector<ProviderConfig>& providers, const std::filesystem::path& base_dir,
               std::string_view source, std::vector<std::string>& errors) {
  const toml::node* variants = r.get("variants");
  r.read_string("kind", t.kind, variants == nullptr);
  if (t.kind.empty() && variants != nullptr) t.kind = "text";
  static const std::set<std::string> kinds{"text", "recsys", "vision"};
  if (!t.kind.empty() && !kinds.contains(t.kind)) {
    r.error_at(*r.table().get("kind"), r.qualified("kind"),
               "unknown task kind '" + t.kind + "' (supported: text, recsys, vision)");
  }
  read_tailored_settings(r, t);
  r.read_string("record", t.record);
  t.record = resolve_path(t.record, base_dir);
  if (variants == nullptr) {
    r.read_string("model", t.model, true);
    t.model = resolve_path(t.model, base_dir);
    VariantConfig v;
    v.name = "model";
    v.kind = "tailored";
    v.artifact = t.model;
    t.variants.push_back(std::move(v));
    t.policy.variants = {"model"};
    t.contract = t.kind == "recsys" ? "ranked" : "labels";
    return;
  }
  if (r.table().get("model") != nullptr) {
    r.error_at(*r.table().get("model"), r.qualified("model"),
               "a task with [variants] names its models in them, not in `model`");
    r.get("model");
  }
  const toml::table* vt = variants->as_table();
  if (vt == nullptr || vt->empty()) {
    r.error_at(*variants, r.qualified("variants"), "must be a table of variant tables");
    return;
  }
  for (const auto& [name, node] : *vt) {
    std::string path = r.qualified("variants") + "." + std::string(name.str());
    const toml::table* table = node.as_table();
    if (table == nullptr) {
      r.error_at(node, path, "must be a table");
      continue;
    }
    TableReader vr(*table, path, source, errors);
    VariantConfig v;
    v.name = std::string(name.str());
    if (!valid_name(v.name)) vr.error_here("variant names use letters, digits and -_.:/");
    read_variant(vr, v, models, providers, base_dir);
    if (v.name == kDistilledVariant) {
      vr.error_here("the variant name '" + std::string(kDistilledVariant) +
                    "' is reserved for the model `tandem distill` writes");
    }
    if (v.kind == "llm" && t.kind != "text") {
      vr.error_here("llm variants need a text task (this task's kind is " + t.kind + ")");
    }
    t.variants.push_back(std::move(v));
  }
  // The contract.
  r.read_string("contract", t.contract);
  if (t.contract.empty()) t.contract = t.kind == "recsys" ? "ranked" : "labels";
  static const std::set<std::string> contracts{"labels", "json", "ranked", "text"};
  if (!contracts.contains(t.contract)) {
    r.error_at(*r.table().get("contract"), r.qualified("contract"),
               "unknown contract '" + t.contract + "' (supported: labels, json, ranked, text)");
  }
  read_string_list(r, "labels", t.labels);
  {
    std::set<std::string> unique(t.labels.begin(), t.labels.end());
    bool has_llm = false;
    for (const auto& v : t.variants) has_llm = has_llm || v.kind == "llm";
    if (t.contract == "labels" && has_llm && t.labels.size() < 2) {
      r.error_here("a labels task with llm variants needs `labels` (at least two)");
    }
    if (unique.size() != t.labels.size() || unique.contains("")) {
      r.error_here("labels must be distinct and non-empty");
    }
    if (t.contract != "labels" && !t.labels.empty()) {
      r.error_here("labels apply to the labels contract only");
    }
  }
  read_inline_or_file(r, "schema", t.schema_json, base_dir, t.contract == "json");
  if (!t.schema_json.empty()) {
    boost::system::error_code ec;
    boost::json::value schema = boost::json::parse(t.schema_json, ec);
    if (ec || !schema.is_object()) {
      r.error_here("schema must be a JSON object (a JSON schema)");
    } else if (t.contract != "json") {
      r.error_here("schema applies to the json contract only");
    }
  }
  read_string_list(r, "input_fields", t.input_fields);
  if (t.input_fields.empty()) t.input_fields = {"text"};
  for (const auto& v : t.variants) {
    if (v.kind == "tailored" && (t.contract == "json" || t.contract == "text")) {
      r.error_here("variant '" + v.name + "': tailored models answer labels or ranked items, not " +
                   t.contract);
    }
    if (v.kind == "llm" && t.contract == "ranked") {
      r.error_here("variant '" + v.name + "': llm variants cannot answer a ranked (recsys) task");
    }
  }
  // The policy (default: the only variant).
  if (const toml::node* policy = r.get("policy")) {
    if (const toml::table* pt = policy->as_table()) {
      TableReader pr(*pt, r.qualified("policy"), source, errors);
      read_policy(pr, t, base_dir);
    } else {
      r.error_at(*policy, r.qualified("policy"), "must be a table");
    }
  } else if (t.variants.size() == 1) {
    t.policy.variants = {t.variants.front().name};
  } else {
    r.error_here("a task with several variants needs [" + r.qualified("policy") + "]");
  }
  if (t.policy.kind == "single" && t.policy.variants.empty() && t.variants.size() == 1) {
    t.policy.variants = {t.variants.front().name};
  }
  for (const auto& v : t.variants) {
    const bool routed = v.confidence == "router" || v.confidence == "router_agreement";
    if (v.kind == "llm" && routed && t.policy.router.empty()) {
      r.error_here("variant '" + v.name + "': confidence = \"" + v.confidence +
                   "\" needs policy.router (an artifact of `tandem train router`)");
    }
    if (v.kind == "llm" && v.confidence == "router_agreement" && t.labels.empty()) {
      r.error_here("variant '" + v.name +
                   "': confidence = \"router_agreement\" compares label answers: the task needs "
                   "labels");
    }
  }
  read_rules(r, t, source, errors);
  if (const toml::node* distill = r.get("distill")) {
    const toml::table* dt = distill->as_table();
    if (dt == nullptr) {
      r.error_at(*distill, r.qualified("distill"), "must be a table");
    } else {
      TableReader dr(*dt, r.qualified("distill"), source, errors);
      DistillConfig d;
      dr.read_string("teacher", d.teacher, true);
      const VariantConfig* teacher = t.find_variant(d.teacher);
      if (!d.teacher.empty() && (teacher == nullptr || teacher->kind != "llm")) {
        dr.error_at(*dt->get("teacher"), dr.qualified("teacher"),
                    "must name an llm variant of this task");
      }
      dr.read_string("artifact", d.artifact, true);
      d.artifact = resolve_path(d.artifact, base_dir);
      read_double(dr, "agreement", d.agreement, 0.5, 1);
      dr.read_int("min_records", d.min_records, 10, 100'000'000);
      if (t.contract != "labels") dr.error_here("distillation needs a labels task");
      if (t.record.empty()) {
        dr.error_here("distillation learns from the task's records: set `record` on the task");
      }
      if (t.policy.kind != "cascade" && t.policy.kind != "single") {
        dr.error_here("a distilled model joins a cascade: use policy kind cascade (or single)");
      }
      t.distill = d;
    }
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
        config.server.language_model = resolve_path(config.server.language_model, base_dir);
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
          read_task(r, task, config.models, config.providers, base_dir, source_name, errors);
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
  std::string why;
  std::optional<std::string> text = read_text_file(path, &why);
  if (!text) {
    LoadResult r;
    r.errors.push_back(path + ": cannot open config file");
    return r;
  }
  return parse_config(*text, path, env);
}

}  // namespace tandem::config
