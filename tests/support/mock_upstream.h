#pragma once
// A scriptable OpenAI-compatible upstream for tests and benchmarks, served by Tandem's own HTTP
// server on loopback. Each request follows a Script, taken (in order of precedence) from:
//   1. the queue filled by push() (in-process tests script request by request);
//   2. a "#mock key=value,..." line in the last message's content (scripting through the gateway,
//      e.g. from the openai npm client);
//   3. the upstream model name "mock:key=value,..." (a route that always behaves one way);
//   4. the default: a normal, successful answer.
// A chat request with `logprobs: true` gets OpenAI-shaped, deterministic logprobs: one entry per
// word of the content (the mock's tokens), each word's logprob in [-0.5, 0] from a hash of it
// (or the script's `logprob`), and `top_logprobs` entries: the word itself and alternatives
// "alt1", "alt2", ... sharing the rest of the probability, halving each time, sorted.
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "tandem/http/server.h"

namespace tandem::testing {

struct Script {
  int status = 200;         // HTTP status of the answer
  int delay_ms = 0;         // before the response head
  std::string retry_after;  // Retry-After header value
  std::string error_code;   // error.code in an error body
  std::string error_message = "mock failure";
  bool reset = false;  // drop the connection (TCP reset) instead of answering
  std::string content = "Hello from the mock upstream.";
  std::string finish_reason = "stop";
  bool usage = true;              // report usage
  bool tool_call = false;         // answer with a tool call instead of content
  int token_delay_ms = 0;         // between streamed chunks
  int cut_after = -1;             // streams: reset the connection after this many content chunks
  int error_after = -1;           // streams: send an error event after this many content chunks
  bool json_for_stream = false;   // answer a stream request with plain JSON
  std::optional<double> logprob;  // every token's logprob when logprobs are asked for (<= 0)
  // Embeddings: a bag of words (32 dimensions, each word counted in the dimension its hash
  // picks), so that texts sharing words are near each other; without it, input i gets the
  // fixed vector ((i+1)/1, (i+1)/2, ... (i+1)/8).
  bool words = false;
};

// Parses "status=500,delay_ms=20,..."; unknown keys or bad values give nullopt and a reason.
std::optional<Script> parse_script(std::string_view text, std::string* error);

struct ReceivedRequest {
  std::string target;
  std::string authorization;
  std::string body;
};

class MockUpstream {
 public:
  explicit MockUpstream(int threads = 1, std::uint16_t port = 0);
  ~MockUpstream();

  std::uint16_t port() const;
  std::string base_url() const;  // "http://127.0.0.1:<port>/v1"
  void push(Script script);
  std::vector<ReceivedRequest> received() const;
  std::size_t request_count() const;
  int open_connections() const;
  void stop();
  void wait();

  struct State;

 private:
  std::shared_ptr<State> state_;
  std::unique_ptr<http::Server> server_;
};

}  // namespace tandem::testing
