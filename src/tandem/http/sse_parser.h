#pragma once
// Incremental parser for text/event-stream (the WHATWG SSE format), fed with arbitrary slices of
// the byte stream as they arrive from an upstream.
#include <string>
#include <string_view>
#include <vector>

namespace tandem::http {

struct SseEvent {
  std::string event;  // the "event:" field, empty for the default "message"
  std::string data;   // "data:" lines joined by '\n'
};

class SseParser {
 public:
  // Appends every event completed by `bytes` to `out`.
  void feed(std::string_view bytes, std::vector<SseEvent>& out);
  // Bytes held for an incomplete line or event; a guard against an upstream that never ends one.
  std::size_t pending_bytes() const { return line_.size() + current_.data.size(); }

 private:
  void take_line(std::string_view line, std::vector<SseEvent>& out);
  std::string line_;
  SseEvent current_;
  bool has_data_ = false;
  bool skip_lf_ = false;  // the previous chunk ended in '\r'
};

// One event in wire form: "data: ...\n\n" (multi-line data becomes several data: lines).
std::string format_sse(std::string_view data, std::string_view event = {});

}  // namespace tandem::http
