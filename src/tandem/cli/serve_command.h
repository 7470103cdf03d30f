#pragma once
// `tandem serve` and `tandem check-config`.
#include <optional>
#include <string>

namespace tandem::cli {

struct ServeOptions {
  std::string config_path = "tandem.toml";
  std::optional<std::string> host;
  std::optional<int> port;
  std::optional<int> threads;
  std::string port_file;  // where to write the bound port (for tests using port 0)
};

// Runs until SIGINT/SIGTERM, then drains. Returns the process exit code.
int run_serve(const ServeOptions& options);
// Validates a config file; prints every problem. Returns the process exit code.
int run_check_config(const std::string& path);

}  // namespace tandem::cli
