#pragma once
// tandem.toml -> Config, with every problem reported as "file:line:column: key: what is wrong".
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/config/config.h"

namespace tandem::config {

struct LoadResult {
  std::optional<Config> config;
  std::vector<std::string> errors;  // empty when config is set
};

// Reads environment variables through `getenv` so tests can supply their own.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;
EnvLookup process_environment();

LoadResult parse_config(std::string_view toml_text, std::string_view source_name,
                        const EnvLookup& env);
LoadResult load_config_file(const std::string& path, const EnvLookup& env);

}  // namespace tandem::config
