#include "tandem/providers/openai_answer.h"

#include <boost/json/basic_parser_impl.hpp>
#include <cmath>
#include <vector>

namespace tandem::providers {

namespace {

using boost::system::error_code;
using std::string_view;

// Where a container sits in the answer; only these places matter.
enum class Place { root, usage, choices, choice, error, replay, other };

struct Frame {
  Place place;
  bool object;
  std::string key;  // the current member name (objects only)
};

class ScanHandler {
 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  AnswerScan scan;
  bool root_is_object = false;
  bool usage_ok = true;  // no malformed usage field seen
  bool usage_null = false;
  bool prompt_seen = false;

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }

  bool on_object_begin(error_code&) {
    open(true);
    return true;
  }
  bool on_object_end(std::size_t, error_code&) {
    close();
    return true;
  }
  bool on_array_begin(error_code&) {
    open(false);
    return true;
  }
  bool on_array_end(std::size_t, error_code&) {
    close();
    return true;
  }
  bool on_key_part(string_view s, std::size_t, error_code&) {
    key_.append(s);
    return true;
  }
  bool on_key(string_view s, std::size_t, error_code&) {
    key_.append(s);
    stack_.back().key = std::move(key_);
    key_.clear();
    return true;
  }
  bool on_string_part(string_view s, std::size_t, error_code&) {
    if (wants_string()) string_.append(s);
    return true;
  }
  bool on_string(string_view s, std::size_t, error_code&) {
    if (wants_string()) {
      string_.append(s);
      value_string(string_);
      string_.clear();
    } else {
      value_other();
    }
    return true;
  }
  bool on_number_part(string_view, error_code&) { return true; }
  bool on_int64(std::int64_t i, string_view, error_code&) {
    value_int(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, string_view, error_code&) {
    value_int(u < (1ULL << 40) ? static_cast<std::int64_t>(u) : -1);
    return true;
  }
  bool on_double(double d, string_view, error_code&) {
    if (at(Place::replay, "cost_usd")) {
      value_cost(d);
    } else {
      value_int(-1);  // token counts are integers
    }
    return true;
  }
  bool on_bool(bool, error_code&) {
    value_other();
    return true;
  }
  bool on_null(error_code&) {
    value_null();
    return true;
  }
  bool on_comment_part(string_view, error_code&) { return true; }
  bool on_comment(string_view, error_code&) { return true; }

 private:
  // The member (or element) being read in the innermost container.
  bool at(Place place, string_view key) const {
    return !stack_.empty() && stack_.back().place == place && stack_.back().object &&
           stack_.back().key == key;
  }
  bool wants_string() const {
    return at(Place::choice, "finish_reason") || at(Place::error, "message");
  }

  void open(bool object) {
    Place place = Place::other;
    if (stack_.empty()) {
      place = object ? Place::root : Place::other;
      root_is_object = object;
    } else if (at(Place::root, "usage")) {
      place = object ? Place::usage : Place::other;
      scan.usage_member = true;
      if (!object) usage_ok = false;
    } else if (at(Place::root, "choices")) {
      place = object ? Place::other : Place::choices;
      scan.has_choices = !object;
    } else if (at(Place::root, "error")) {
      place = object ? Place::error : Place::other;
      scan.has_error = true;
    } else if (at(Place::root, "tandem_replay")) {
      place = object ? Place::replay : Place::other;
    } else if (!stack_.empty() && stack_.back().place == Place::choices) {
      ++scan.choices;
      place = object ? Place::choice : Place::other;
    }
    stack_.push_back({place, object, {}});
  }

  void close() {
    if (stack_.back().place == Place::usage && usage_ok && prompt_seen) scan.usage.known = true;
    stack_.pop_back();
  }

  // A scalar member or element: what does it mean here?
  void value_other() {
    if (at(Place::root, "usage")) {
      scan.usage_member = true;
      usage_ok = false;
    } else if (at(Place::root, "error")) {
      scan.has_error = true;
    } else if (at(Place::usage, "prompt_tokens") || at(Place::usage, "completion_tokens") ||
               at(Place::usage, "total_tokens")) {
      usage_ok = false;
    } else if (!stack_.empty() && stack_.back().place == Place::choices) {
      ++scan.choices;
    }
  }
  void value_null() {
    if (at(Place::root, "usage")) {
      scan.usage_member = true;  // present but null: no usage in this chunk
      usage_null = true;
    } else if (at(Place::usage, "prompt_tokens")) {
      usage_ok = false;
    } else if (!at(Place::root, "error") && !at(Place::usage, "completion_tokens") &&
               !at(Place::usage, "total_tokens")) {
      value_other();
    }
  }
  void value_int(std::int64_t n) {
    if (at(Place::usage, "prompt_tokens")) {
      if (n < 0 || n >= (1LL << 40)) usage_ok = false;
      scan.usage.prompt_tokens = n;
      prompt_seen = true;
    } else if (at(Place::usage, "completion_tokens")) {
      if (n < 0 || n >= (1LL << 40)) usage_ok = false;
      scan.usage.completion_tokens = n;
    } else if (at(Place::usage, "total_tokens")) {
      if (n < 0 || n >= (1LL << 40)) usage_ok = false;
    } else if (at(Place::usage, "tandem_compute_us")) {
      // Tandem's local provider reports the decode time it spent, priced per hour of compute.
      if (n >= 0 && n < (1LL << 50)) scan.usage.compute_us = n;
    } else if (at(Place::replay, "cost_usd")) {
      value_cost(static_cast<double>(n));
    } else {
      value_other();
    }
  }
  // Tandem's replay provider reports what the recorded call cost.
  void value_cost(double usd) {
    if (usd >= 0 && usd < 1e6) scan.recorded_cost_pico_usd = std::llround(usd * 1e12);
  }
  void value_string(const std::string& s) {
    if (at(Place::choice, "finish_reason")) {
      if (s == "content_filter") ++scan.filtered_choices;
    } else if (at(Place::error, "message")) {
      scan.error_message = s.substr(0, 500);
    }
  }

  std::vector<Frame> stack_;
  std::string key_;
  std::string string_;
};

}  // namespace

std::optional<AnswerScan> scan_answer(std::string_view json) {
  boost::json::parse_options options;
  options.max_depth = 64;
  boost::json::basic_parser<ScanHandler> parser(options);
  error_code ec;
  std::size_t n = parser.write_some(false, json.data(), json.size(), ec);
  if (ec || n != json.size() || !parser.done() || !parser.handler().root_is_object)
    return std::nullopt;
  AnswerScan scan = std::move(parser.handler().scan);
  scan.usage_malformed = scan.usage_member && !parser.handler().usage_null && !scan.usage.known;
  if (scan.usage.known) {
    scan.usage.total_tokens = scan.usage.prompt_tokens + scan.usage.completion_tokens;
  } else {
    scan.usage = core::Usage{};
  }
  // A replayed answer has no token counts but a cost, which the ledger charges as it is.
  scan.usage.recorded_cost_pico_usd = scan.recorded_cost_pico_usd;
  return scan;
}

}  // namespace tandem::providers
