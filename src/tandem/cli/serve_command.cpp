#include "tandem/cli/serve_command.h"

#include <csignal>
#include <cstdio>
#include <fstream>
#include <thread>

#include "tandem/api/gateway.h"
#include "tandem/config/config_loader.h"
#include "tandem/http/server.h"
#include "tandem/log/logger.h"

namespace tandem::cli {

namespace {
std::optional<config::Config> load(const std::string& path) {
  auto result = config::load_config_file(path, config::process_environment());
  if (!result.config) {
    for (const auto& e : result.errors) std::fprintf(stderr, "%s\n", e.c_str());
    std::fprintf(stderr, "tandem: %zu problem(s) in %s\n", result.errors.size(), path.c_str());
    return std::nullopt;
  }
  return std::move(result.config);
}
}  // namespace

int run_check_config(const std::string& path) {
  auto config = load(path);
  if (!config) return 2;
  std::printf("%s: ok (%zu providers, %zu models, %zu client keys)\n", path.c_str(),
              config->providers.size(), config->models.size(), config->client_keys.size());
  return 0;
}

int run_serve(const ServeOptions& options) {
  auto config = load(options.config_path);
  if (!config) return 2;
  if (options.host) config->server.host = *options.host;
  if (options.port) config->server.port = static_cast<std::uint16_t>(*options.port);
  if (options.threads) config->server.threads = *options.threads;
  log::set_level(config->server.log_level);

  // Signals are taken by this thread alone (sigwait below): block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);  // reloads the tasks' models
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  http::ServerOptions so;
  so.host = config->server.host;
  so.port = config->server.port;
  so.threads = config->server.threads > 0
                   ? config->server.threads
                   : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  so.max_body_bytes = config->server.max_body_bytes;
  so.max_header_bytes = config->server.max_header_bytes;
  so.read_timeout = config->server.read_timeout;
  so.idle_timeout = config->server.idle_timeout;
  so.write_timeout = config->server.read_timeout;
  so.drain_timeout = config->server.drain_timeout;

  // Local models load here; a missing or corrupt file stops the start with its name.
  std::unique_ptr<api::Gateway> gateway;
  try {
    gateway = std::make_unique<api::Gateway>(std::move(*config));
  } catch (const std::exception& e) {
    log::error("start_failed", {{"error", e.what()}});
    std::fprintf(stderr, "tandem: %s\n", e.what());
    return 1;
  }
  http::Server server(so, gateway->handler_factory());
  try {
    server.start();
  } catch (const std::exception& e) {
    log::error("start_failed", {{"error", e.what()}});
    return 1;
  }
  log::info("listening", {{"host", so.host}, {"port", server.port()}, {"threads", so.threads}});
  if (!options.port_file.empty()) {
    std::string tmp = options.port_file + ".tmp";
    std::ofstream(tmp) << server.port() << "\n";
    std::rename(tmp.c_str(), options.port_file.c_str());
  }

  int signal_number = 0;
  for (;;) {
    sigwait(&signals, &signal_number);
    if (signal_number != SIGHUP) break;
    for (const auto& line : gateway->reload_tasks()) log::info("task_reload", {{"result", line}});
  }
  log::info("shutting_down", {{"signal", signal_number == SIGINT ? "SIGINT" : "SIGTERM"},
                              {"open_connections", server.open_connections()}});
  server.stop();
  log::info("stopped");
  return 0;
}

}  // namespace tandem::cli
