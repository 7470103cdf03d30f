#pragma once
// Plain HTTP types shared by the server, the client and the handlers. Beast stays inside
// server.cpp and client.cpp: everything else sees only these types, which keeps compile times low.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::http {

namespace asio = boost::asio;
using Millis = std::chrono::milliseconds;

// Every coroutine and socket lives on one thread's io_context. Naming its executor type, instead
// of Asio's default type-erased any_io_executor, saves a type-erased copy at every suspension and
// every outstanding-work count (measured on the proxy path).
using Executor = asio::io_context::executor_type;
template <typename T = void>
using Task = asio::awaitable<T, Executor>;
using Socket = asio::basic_stream_socket<asio::ip::tcp, Executor>;
using Acceptor = asio::basic_socket_acceptor<asio::ip::tcp, Executor>;
using Resolver = asio::ip::basic_resolver<asio::ip::tcp, Executor>;
using Timer = asio::basic_waitable_timer<std::chrono::steady_clock,
                                         asio::wait_traits<std::chrono::steady_clock>, Executor>;
// Completion token for Task coroutines: errors come back as values, never as exceptions.
constexpr auto use_task = asio::as_tuple(asio::use_awaitable_t<Executor>{});

struct Header {
  std::string name;
  std::string value;
};
using Headers = std::vector<Header>;

// Case-insensitive lookup; empty when absent.
std::string_view find_header(const Headers& headers, std::string_view name);
bool iequals(std::string_view a, std::string_view b);

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query as received
  Headers headers;
  std::string body;

  std::string_view header(std::string_view name) const { return find_header(headers, name); }
  std::string_view path() const;  // target without the query
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  Headers headers;
  std::string body;
};

// Work done for one request that must stop when the client goes away (or the server shuts
// down). Lives on the request's io_context thread: no locking.
class CancelSignal {
 public:
  enum class Reason { client_gone, shutdown };
  bool cancelled() const { return cancelled_; }
  // Why: a client that left gets nothing more; a request cut by shutdown gets a last word.
  Reason reason() const { return reason_; }
  void cancel(Reason reason = Reason::client_gone);
  std::size_t add_hook(std::function<void()> hook);
  void remove_hook(std::size_t id);

 private:
  bool cancelled_ = false;
  Reason reason_ = Reason::client_gone;
  std::size_t next_id_ = 0;
  std::vector<std::pair<std::size_t, std::function<void()>>> hooks_;
};

// Work done without a signal (nullptr) is never cancelled.
inline bool is_cancelled(const CancelSignal* signal) {
  return signal != nullptr && signal->cancelled();
}

// Registers a cancel hook for a scope.
class CancelHook {
 public:
  CancelHook(CancelSignal* signal, std::function<void()> hook);
  ~CancelHook();
  CancelHook(const CancelHook&) = delete;
  CancelHook& operator=(const CancelHook&) = delete;

 private:
  CancelSignal* signal_;
  std::size_t id_ = 0;
};

// How a handler answers: either one complete response, or a chunked stream (SSE).
class Responder {
 public:
  virtual ~Responder() = default;
  // A complete response. Returns false when it could not be written (client gone).
  virtual Task<bool> send(Response response) = 0;
  // Starts a chunked response; then write_chunk any number of times, then end_stream.
  virtual Task<bool> begin_stream(int status, std::string content_type, Headers headers) = 0;
  virtual Task<bool> write_chunk(std::string data) = 0;
  // Ends the chunked body, with optional trailer fields (announced in a "Trailer" header at
  // begin_stream). With close_after, the connection is closed afterwards.
  virtual Task<void> end_stream(bool close_after, Headers trailers) = 0;
  // Drops the connection with a TCP reset, mid-response if need be.
  virtual void reset_connection() = 0;
  // Fires when the client disconnects while the handler runs.
  virtual CancelSignal& cancel_signal() = 0;
  virtual bool responded() const = 0;
};

using Handler = std::function<Task<void>(Request&, Responder&)>;
// Called once on each server thread, so handlers can own per-thread state (connection pools).
using HandlerFactory = std::function<Handler(asio::io_context&, int thread_index)>;

}  // namespace tandem::http
