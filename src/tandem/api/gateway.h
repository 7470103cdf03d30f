#pragma once
// The gateway: the validated config turned into live objects (providers, routes with their
// breakers, metrics), and the HTTP handler that dispatches each request to its endpoint.
#include <memory>
#include <string>
#include <vector>

#include "tandem/config/config.h"
#include "tandem/http/message.h"

namespace tandem::api {

struct GatewayState;

class Gateway {
 public:
  explicit Gateway(config::Config config);
  ~Gateway();

  // Creates each server thread's handler with its own upstream client.
  http::HandlerFactory handler_factory();
  const config::Config& config() const;
  // Reloads every task's model (on SIGHUP); one line per task says how it went.
  std::vector<std::string> reload_tasks();

 private:
  std::shared_ptr<GatewayState> state_;
};

}  // namespace tandem::api
