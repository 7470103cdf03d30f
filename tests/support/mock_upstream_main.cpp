// tandem-mock-upstream: the scriptable OpenAI-compatible upstream as a program, for the
// end-to-end tests and the gateway benchmark. Runs until SIGINT/SIGTERM.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "mock_upstream.h"

int main(int argc, char** argv) {
  int threads = 1;
  int port = 0;
  std::string port_file;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc)
      threads = std::atoi(argv[++i]);
    else if (a == "--port" && i + 1 < argc)
      port = std::atoi(argv[++i]);
    else if (a == "--port-file" && i + 1 < argc)
      port_file = argv[++i];
    else {
      std::fprintf(stderr,
                   "usage: tandem-mock-upstream [--threads N] [--port P] [--port-file F]\n");
      return 2;
    }
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  tandem::testing::MockUpstream mock(threads, static_cast<std::uint16_t>(port));
  if (!port_file.empty()) {
    std::string tmp = port_file + ".tmp";
    std::ofstream(tmp) << mock.port() << "\n";
    std::rename(tmp.c_str(), port_file.c_str());
  }
  std::fprintf(stderr, "mock upstream listening on 127.0.0.1:%u\n", mock.port());
  int sig = 0;
  sigwait(&signals, &sig);
  mock.stop();
  return 0;
}
