#include "mock_upstream.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <cctype>
#include <charconv>
#include <cmath>
#include <sstream>

#include "tandem/core/json_util.h"

namespace tandem::testing {

namespace asio = boost::asio;
namespace json = boost::json;

struct MockUpstream::State {
  mutable std::mutex mutex;
  std::deque<Script> queue;
  std::vector<ReceivedRequest> received;
  std::size_t count = 0;
};

namespace {

bool parse_int(std::string_view v, int& out) {
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  return ec == std::errc{} && p == v.data() + v.size();
}

bool parse_double(std::string_view v, std::optional<double>& out) {
  double d = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
  if (ec != std::errc{} || p != v.data() + v.size() || !(d <= 0)) return false;
  out = d;
  return true;
}

bool parse_bool(std::string_view v, bool& out) {
  if (v == "1" || v == "true")
    out = true;
  else if (v == "0" || v == "false")
    out = false;
  else
    return false;
  return true;
}

// Sleeps, but wakes at once when the client (the gateway) disconnects; false in that case.
http::Task<bool> sleep_ms(int ms, http::Responder& responder) {
  if (ms > 0) {
    http::Timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(ms));
    http::CancelHook hook(&responder.cancel_signal(), [&t] { t.cancel(); });
    co_await t.async_wait(http::use_task);
  }
  co_return !responder.cancel_signal().cancelled();
}

// Deterministic token counts: words in every message's string content, plus 3 per message.
std::int64_t prompt_tokens(const json::object& body) {
  std::int64_t n = 0;
  auto count_words = [&](std::string_view s) {
    bool in_word = false;
    for (char c : s) {
      bool space = c == ' ' || c == '\n' || c == '\t';
      if (!space && !in_word) ++n;
      in_word = !space;
    }
  };
  if (const auto* m = core::find_member(body, "messages"); m && m->is_array()) {
    for (const auto& msg : m->get_array()) {
      n += 3;
      if (!msg.is_object()) continue;
      if (const auto* c = core::find_member(msg.get_object(), "content"); c && c->is_string()) {
        count_words(c->get_string());
      }
    }
  }
  if (const auto* in = core::find_member(body, "input")) {
    if (in->is_string()) count_words(in->get_string());
    if (in->is_array()) {
      for (const auto& x : in->get_array()) {
        if (x.is_string()) count_words(x.get_string());
      }
    }
  }
  return n;
}

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string w;
  while (in >> w) out.push_back(out.empty() ? w : " " + w);
  return out;
}

std::optional<Script> script_from_messages(const json::object& body) {
  const auto* m = core::find_member(body, "messages");
  if (m == nullptr || !m->is_array() || m->get_array().empty()) return std::nullopt;
  const auto& last = m->get_array().back();
  if (!last.is_object()) return std::nullopt;
  const auto* c = core::find_member(last.get_object(), "content");
  if (c == nullptr || !c->is_string()) return std::nullopt;
  std::string_view text = c->get_string();
  auto pos = text.find("#mock ");
  if (pos == std::string_view::npos) return std::nullopt;
  std::string_view spec = text.substr(pos + 6);
  spec = spec.substr(0, spec.find('\n'));
  std::string error;
  return parse_script(spec, &error);
}

http::Response error_body(const Script& s) {
  http::Response r;
  r.status = s.status;
  json::object err{
      {"message", s.error_message},
      {"type", s.status == 429 ? "rate_limit_error" : "server_error"},
      {"param", nullptr},
      {"code", s.error_code.empty() ? json::value(nullptr) : json::value(s.error_code)}};
  r.body = json::serialize(json::object{{"error", std::move(err)}});
  if (!s.retry_after.empty()) r.headers.push_back({"Retry-After", s.retry_after});
  return r;
}

json::object usage_json(std::int64_t prompt, std::int64_t completion) {
  return json::object{{"prompt_tokens", prompt},
                      {"completion_tokens", completion},
                      {"total_tokens", prompt + completion}};
}

json::object tool_call_json() {
  return json::object{
      {"id", "call_mock_1"},
      {"type", "function"},
      {"function", json::object{{"name", "get_weather"}, {"arguments", R"({"city":"Paris"})"}}}};
}

// What the request asks of logprobs: -1 when none, else top_logprobs (0..20).
int requested_top_logprobs(const json::object& body) {
  const auto* lp = core::find_member(body, "logprobs");
  if (lp == nullptr || !lp->is_bool() || !lp->get_bool()) return -1;
  const auto* top = core::find_member(body, "top_logprobs");
  if (top == nullptr || !top->is_number()) return 0;
  return static_cast<int>(std::clamp(top->to_number<double>(), 0.0, 20.0));
}

json::object token_logprob_json(const std::string& token, double logprob) {
  json::array bytes;
  for (char c : token) bytes.push_back(static_cast<unsigned char>(c));
  return json::object{{"token", token}, {"logprob", logprob}, {"bytes", std::move(bytes)}};
}

// One mock token's logprob entry: deterministic, plausible (a confident model), and with
// alternatives that share the rest of the probability.
json::object logprob_entry(const Script& s, const std::string& token, int top) {
  double logprob = 0;
  if (s.logprob) {
    logprob = std::min(*s.logprob, 0.0);
  } else {
    std::uint32_t h = 2166136261u;  // FNV-1a
    for (char c : token) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
    logprob = -static_cast<double>(h % 1000) / 2000.0;
  }
  std::vector<std::pair<std::string, double>> options;
  if (top > 0) {
    options.emplace_back(token, logprob);
    std::string space = !token.empty() && token[0] == ' ' ? " " : "";
    double rest = 1.0 - std::exp(logprob);
    for (int k = 1; k < top; ++k) {
      double p = std::max(rest / std::pow(2.0, k), 1e-12);
      options.emplace_back(space + "alt" + std::to_string(k), std::log(p));
    }
    std::stable_sort(options.begin(), options.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
  }
  json::array top_json;
  for (const auto& [t, lp] : options) top_json.push_back(token_logprob_json(t, lp));
  json::object entry = token_logprob_json(token, logprob);
  entry["top_logprobs"] = std::move(top_json);
  return entry;
}

json::value logprobs_json(const Script& s, const std::vector<std::string>& tokens, int top) {
  json::array content;
  for (const auto& t : tokens) content.push_back(logprob_entry(s, t, top));
  return json::object{{"content", std::move(content)}};
}

// JSON is built outside the coroutines: GCC 12 miscompiles brace-initialised string arrays in
// coroutine frames ("array used as initializer").
std::string chunk_sse(const std::string& model, json::object delta, json::value finish_reason,
                      bool include_usage, json::value logprobs = nullptr) {
  json::object c{{"id", "chatcmpl-mock"},
                 {"object", "chat.completion.chunk"},
                 {"created", 1700000000},
                 {"model", model},
                 {"choices", json::array{json::object{{"index", 0},
                                                      {"delta", std::move(delta)},
                                                      {"logprobs", std::move(logprobs)},
                                                      {"finish_reason", finish_reason}}}}};
  if (include_usage) c["usage"] = nullptr;
  return "data: " + json::serialize(c) + "\n\n";
}

std::string usage_chunk_sse(const std::string& model, std::int64_t prompt,
                            std::int64_t completion) {
  json::object u{{"id", "chatcmpl-mock"},    {"object", "chat.completion.chunk"},
                 {"created", 1700000000},    {"model", model},
                 {"choices", json::array{}}, {"usage", usage_json(prompt, completion)}};
  return "data: " + json::serialize(u) + "\n\n";
}

std::string error_event_sse(const std::string& message) {
  json::object err{{"error", json::object{{"message", message}, {"type", "server_error"}}}};
  return "data: " + json::serialize(err) + "\n\n";
}

std::string completion_json(const Script& s, const std::string& model, std::int64_t prompt,
                            std::int64_t completion, const std::string& finish, int top_logprobs) {
  json::object message{{"role", "assistant"}};
  if (s.tool_call) {
    message["content"] = nullptr;
    message["tool_calls"] = json::array{tool_call_json()};
  } else {
    message["content"] = s.content;
  }
  json::object r{{"id", "chatcmpl-mock"},
                 {"object", "chat.completion"},
                 {"created", 1700000000},
                 {"model", model},
                 {"choices", json::array{json::object{{"index", 0},
                                                      {"message", std::move(message)},
                                                      {"logprobs", nullptr},
                                                      {"finish_reason", finish}}}}};
  if (top_logprobs >= 0 && !s.tool_call) {
    r["choices"].as_array()[0].as_object()["logprobs"] =
        logprobs_json(s, split_words(s.content), top_logprobs);
  }
  if (s.usage) r["usage"] = usage_json(prompt, completion);
  return json::serialize(r);
}

json::object role_delta() {
  return json::object{{"role", "assistant"}, {"content", ""}};
}
json::object content_delta(const std::string& text) {
  return json::object{{"content", text}};
}
json::value piece_logprobs(const Script& s, const std::string& piece, int top) {
  if (top < 0) return nullptr;
  return logprobs_json(s, {piece}, top);
}
json::object tool_delta() {
  json::object call = tool_call_json();
  call["index"] = 0;
  return json::object{{"tool_calls", json::array{call}}};
}

// A bag of words: each lowercased run of letters and digits adds 1 to the dimension its FNV-1a
// hash picks. A text with no word gets a unit vector in the last dimension (never all zeros).
json::array word_vector(std::string_view text) {
  constexpr std::size_t kDims = 32;
  std::vector<double> v(kDims, 0.0);
  std::uint32_t hash = 2166136261u;
  bool in_word = false, any = false;
  auto flush = [&] {
    if (in_word) v[hash % kDims] += 1;
    any = any || in_word;
    hash = 2166136261u;
    in_word = false;
  };
  for (char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      hash = (hash ^ static_cast<std::uint8_t>(std::tolower(static_cast<unsigned char>(c)))) *
             16777619u;
      in_word = true;
    } else {
      flush();
    }
  }
  flush();
  if (!any) v.back() = 1;
  json::array out;
  for (double x : v) out.push_back(x);
  return out;
}

std::string embeddings_json(const Script& s, const json::object& body, const std::string& model) {
  std::vector<std::string> texts;
  if (const auto* in = core::find_member(body, "input"); in && in->is_array()) {
    for (const auto& x : in->get_array()) {
      texts.push_back(x.is_string() ? std::string(x.get_string()) : json::serialize(x));
    }
  } else if (in && in->is_string()) {
    texts.emplace_back(in->get_string());
  } else {
    texts.emplace_back();
  }
  json::array data;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    json::array v;
    if (s.words) {
      v = word_vector(texts[i]);
    } else {
      for (int d = 0; d < 8; ++d) v.push_back(static_cast<double>(i + 1) / (d + 1));
    }
    data.push_back(
        json::object{{"object", "embedding"}, {"index", i}, {"embedding", std::move(v)}});
  }
  std::int64_t prompt = prompt_tokens(body);
  json::object r{{"object", "list"}, {"data", std::move(data)}, {"model", model}};
  if (s.usage) r["usage"] = json::object{{"prompt_tokens", prompt}, {"total_tokens", prompt}};
  return json::serialize(r);
}

http::Task<void> answer_chat(const Script& s, const json::object& body, std::string model,
                             http::Responder& responder) {
  bool stream = false;
  if (const auto* v = core::find_member(body, "stream"); v && v->is_bool()) stream = v->get_bool();
  bool include_usage = false;
  if (const auto* so = core::find_member(body, "stream_options"); so && so->is_object()) {
    if (const auto* iu = core::find_member(so->get_object(), "include_usage");
        iu && iu->is_bool()) {
      include_usage = iu->get_bool();
    }
  }
  std::int64_t prompt = prompt_tokens(body);
  const int top_logprobs = requested_top_logprobs(body);
  auto pieces = split_words(s.content);
  std::int64_t completion = s.tool_call ? 7 : static_cast<std::int64_t>(pieces.size());
  std::string finish = s.tool_call ? "tool_calls" : s.finish_reason;

  if (!stream || s.json_for_stream) {
    http::Response res;
    res.body = completion_json(s, model, prompt, completion, finish, top_logprobs);
    co_await responder.send(std::move(res));
    co_return;
  }

  if (!co_await responder.begin_stream(200, "text/event-stream", {})) co_return;
  if (s.error_after == 0) {  // an error as the very first event
    co_await responder.write_chunk(error_event_sse(s.error_message));
    co_await responder.end_stream(true, {});
    co_return;
  }
  if (!co_await responder.write_chunk(chunk_sse(model, role_delta(), nullptr, include_usage)))
    co_return;
  if (s.tool_call) {
    if (!co_await responder.write_chunk(chunk_sse(model, tool_delta(), nullptr, include_usage)))
      co_return;
  } else {
    for (std::size_t i = 0; i < pieces.size(); ++i) {
      if (static_cast<int>(i) == s.cut_after) {
        responder.reset_connection();
        co_return;
      }
      if (static_cast<int>(i) == s.error_after) {
        co_await responder.write_chunk(error_event_sse(s.error_message));
        co_await responder.end_stream(true, {});
        co_return;
      }
      if (!co_await sleep_ms(s.token_delay_ms, responder)) co_return;
      if (!co_await responder.write_chunk(chunk_sse(model, content_delta(pieces[i]), nullptr,
                                                    include_usage,
                                                    piece_logprobs(s, pieces[i], top_logprobs))))
        co_return;
    }
  }
  std::string tail = chunk_sse(model, json::object{}, json::value(finish), include_usage);
  if (include_usage && s.usage) tail += usage_chunk_sse(model, prompt, completion);
  tail += "data: [DONE]\n\n";
  co_await responder.write_chunk(std::move(tail));
  co_await responder.end_stream(false, {});
}

http::Task<void> answer_embeddings(const Script& s, const json::object& body, std::string model,
                                   http::Responder& responder) {
  http::Response res;
  res.body = embeddings_json(s, body, model);
  co_await responder.send(std::move(res));
}

}  // namespace

std::optional<Script> parse_script(std::string_view text, std::string* error) {
  Script s;
  while (!text.empty()) {
    auto comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) continue;
    auto eq = item.find('=');
    std::string_view key = item.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? "true" : item.substr(eq + 1);
    bool ok = true;
    if (key == "status")
      ok = parse_int(value, s.status);
    else if (key == "delay_ms")
      ok = parse_int(value, s.delay_ms);
    else if (key == "retry_after")
      s.retry_after = std::string(value);
    else if (key == "error_code")
      s.error_code = std::string(value);
    else if (key == "error_message")
      s.error_message = std::string(value);
    else if (key == "reset")
      ok = parse_bool(value, s.reset);
    else if (key == "content")
      s.content = std::string(value);
    else if (key == "finish_reason")
      s.finish_reason = std::string(value);
    else if (key == "usage")
      ok = parse_bool(value, s.usage);
    else if (key == "tool_call")
      ok = parse_bool(value, s.tool_call);
    else if (key == "token_delay_ms")
      ok = parse_int(value, s.token_delay_ms);
    else if (key == "cut_after")
      ok = parse_int(value, s.cut_after);
    else if (key == "error_after")
      ok = parse_int(value, s.error_after);
    else if (key == "json_for_stream")
      ok = parse_bool(value, s.json_for_stream);
    else if (key == "logprob")
      ok = parse_double(value, s.logprob);
    else if (key == "words")
      ok = parse_bool(value, s.words);
    else
      ok = false;
    if (!ok) {
      if (error) *error = "bad mock script item '" + std::string(item) + "'";
      return std::nullopt;
    }
  }
  return s;
}

MockUpstream::MockUpstream(int threads, std::uint16_t port) : state_(std::make_shared<State>()) {
  http::ServerOptions options;
  options.port = port;
  options.threads = threads;
  options.drain_timeout = std::chrono::milliseconds(2000);
  options.max_body_bytes = 64 << 20;
  auto state = state_;
  server_ = std::make_unique<
      http::Server>(options, [state](asio::io_context&, int) -> http::Handler {
    return [state](http::Request& request, http::Responder& responder) -> http::Task<void> {
      std::optional<Script> script;
      {
        std::lock_guard lock(state->mutex);
        ++state->count;
        if (state->received.size() < 10'000) {
          state->received.push_back(
              {request.target, std::string(request.header("authorization")), request.body});
        }
        if (!state->queue.empty()) {
          script = std::move(state->queue.front());
          state->queue.pop_front();
        }
      }
      auto parsed = core::parse_json(request.body);
      json::object body;
      if (auto* v = std::get_if<json::value>(&parsed); v && v->is_object()) body = v->get_object();
      std::string model;
      if (const auto* m = core::find_member(body, "model"); m && m->is_string())
        model = m->get_string();
      if (!script) script = script_from_messages(body);
      if (!script && model.starts_with("mock:")) {
        std::string error;
        script = parse_script(std::string_view(model).substr(5), &error);
      }
      if (!script) script = Script{};
      const Script& s = *script;
      if (!co_await sleep_ms(s.delay_ms, responder)) co_return;
      if (s.reset) {
        responder.reset_connection();
        co_return;
      }
      if (s.status != 200) {
        co_await responder.send(error_body(s));
        co_return;
      }
      if (request.path().ends_with("/embeddings")) {
        co_await answer_embeddings(s, body, model, responder);
      } else if (request.path().ends_with("/chat/completions")) {
        co_await answer_chat(s, body, model, responder);
      } else {
        http::Response r;
        r.status = 404;
        r.body =
            R"({"error":{"message":"unknown path","type":"invalid_request_error","param":null,"code":null}})";
        co_await responder.send(std::move(r));
      }
    };
  });
  server_->start();
}

MockUpstream::~MockUpstream() {
  stop();
}

std::uint16_t MockUpstream::port() const {
  return server_->port();
}
std::string MockUpstream::base_url() const {
  return "http://127.0.0.1:" + std::to_string(port()) + "/v1";
}
void MockUpstream::push(Script script) {
  std::lock_guard lock(state_->mutex);
  state_->queue.push_back(std::move(script));
}
std::vector<ReceivedRequest> MockUpstream::received() const {
  std::lock_guard lock(state_->mutex);
  return state_->received;
}
std::size_t MockUpstream::request_count() const {
  std::lock_guard lock(state_->mutex);
  return state_->count;
}
int MockUpstream::open_connections() const {
  return server_->open_connections();
}
void MockUpstream::stop() {
  server_->stop();
}
void MockUpstream::wait() {
  server_->wait();
}

}  // namespace tandem::testing
