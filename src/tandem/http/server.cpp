#include "tandem/http/server.h"

#include <poll.h>
#include <sys/socket.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>

#include "tandem/core/api_error.h"
#include "tandem/http/deadline.h"
#include "tandem/log/logger.h"

namespace tandem::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
constexpr auto nothrow = use_task;

namespace {

struct ActiveRequest;

// A client connection and its deadline (swept by the io_context's DeadlineService).
struct Conn {
  Conn(asio::io_context& ioc, Socket s) : socket(std::move(s)), deadline(ioc, socket) {}
  Socket socket;
  Deadline deadline;
};

// Member order matters: the io_context is destroyed before the handler (pending coroutine
// frames may refer to handler state) and after the acceptor (which refers to the io_context).
// Per-thread connection pools live as services of the io_context, so they close first.
struct Worker {
  Handler handler;
  std::unordered_set<Conn*> idle;             // connections waiting for a request
  std::unordered_set<ActiveRequest*> active;  // requests whose handler is running
  std::atomic<int> connections{0};
  std::atomic<bool> drain_started{false};
  bool draining = false;  // touched on this worker's thread only
  // One thread runs it; other threads only post() to it (shutdown), so reactor I/O needs no locks.
  asio::io_context ioc{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  std::optional<Acceptor> acceptor;
  std::thread thread;
};

// Answers a protocol-level problem (before any handler ran) and closes.
bhttp::response<bhttp::string_body> error_response(const core::ApiError& error) {
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(error.status), 11};
  res.set(bhttp::field::server, "tandem");
  res.set(bhttp::field::content_type, "application/json");
  res.keep_alive(false);
  res.body() = core::to_json(error);
  res.prepare_payload();
  return res;
}

class SessionResponder final : public Responder {
 public:
  SessionResponder(Conn& conn, const ServerOptions& options, const bool& draining)
      : conn_(conn), options_(options), draining_(draining) {}

  void reset_for(unsigned version, bool keep_alive) {
    version_ = version;
    keep_alive_ = keep_alive;
    responded_ = false;
    streaming_ = false;
    must_close_ = false;
    broken_ = false;
    raw_stream_ = false;
    cancel_ = std::make_unique<CancelSignal>();
  }

  // Responses are serialised by hand into one buffer and written with one call: Beast's generic
  // serializer cost more CPU than everything else a proxied request does (measured with perf).
  Task<bool> send(Response response) override {
    responded_ = true;
    std::string out;
    out.reserve(160 + response.body.size() + 64 * response.headers.size());
    append_head(out, response.status, response.content_type, response.headers,
                keep_alive_ && !must_close_);
    out += "Content-Length: ";
    out += std::to_string(response.body.size());
    out += "\r\n\r\n";
    out += response.body;
    co_return co_await write(out);
  }

  Task<bool> begin_stream(int status, std::string content_type, Headers headers) override {
    responded_ = true;
    streaming_ = true;
    std::string out;
    out.reserve(256);
    headers.push_back({"Cache-Control", "no-cache"});
    // HTTP/1.0 has no chunked encoding: the body is sent as it comes and ends with the connection.
    raw_stream_ = version_ == 10;
    append_head(out, status, content_type, headers, keep_alive_ && !raw_stream_);
    out += raw_stream_ ? "\r\n" : "Transfer-Encoding: chunked\r\n\r\n";
    co_return co_await write(out);
  }

  Task<bool> write_chunk(std::string data) override {
    if (broken_) co_return false;
    if (data.empty()) co_return true;  // an empty chunk would end the body
    if (raw_stream_) co_return co_await write(data);
    char size[24];
    int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    std::string out;
    out.reserve(data.size() + 32);
    out.append(size, static_cast<std::size_t>(n));
    out += data;
    out += "\r\n";
    co_return co_await write(out);
  }

  Task<void> end_stream(bool close_after, Headers trailers) override {
    if (close_after) must_close_ = true;
    if (!streaming_) co_return;
    streaming_ = false;
    if (raw_stream_) {
      must_close_ = true;  // the end of the connection is the end of the body
      co_return;
    }
    std::string out = "0\r\n";
    for (const auto& h : trailers) append_field(out, h.name, h.value);
    out += "\r\n";
    co_await write(out);
  }

  void reset_connection() override {
    beast::error_code ec;
    conn_.socket.set_option(asio::socket_base::linger(true, 0), ec);
    conn_.socket.close(ec);
    must_close_ = true;
    responded_ = true;
  }

  CancelSignal& cancel_signal() override { return *cancel_; }
  bool responded() const override { return responded_; }
  bool must_close() const { return must_close_ || broken_ || streaming_; }

 private:
  Task<bool> write(const std::string& bytes) {
    conn_.deadline.expires_after(options_.write_timeout);
    auto [ec, n] = co_await asio::async_write(conn_.socket, asio::buffer(bytes), nothrow);
    conn_.deadline.expires_never();
    if (ec) broken_ = true;
    co_return !ec;
  }

  // A header line; CR and LF are dropped so that no value can split the header block.
  static void append_clean(std::string& out, std::string_view text) {
    bool clean = true;
    for (char c : text) clean &= (c != '\r') & (c != '\n');
    if (clean) {
      out += text;
      return;
    }
    for (char c : text) {
      if (c != '\r' && c != '\n') out += c;
    }
  }
  static void append_field(std::string& out, std::string_view name, std::string_view value) {
    append_clean(out, name);
    out += ": ";
    append_clean(out, value);
    out += "\r\n";
  }

  void append_head(std::string& out, int status, std::string_view content_type,
                   const Headers& headers, bool keep_alive) {
    if (status == 200) {
      out += version_ == 10 ? "HTTP/1.0 200 OK\r\nServer: tandem\r\n"
                            : "HTTP/1.1 200 OK\r\nServer: tandem\r\n";
    } else {
      out += version_ == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
      out += std::to_string(status);
      out += ' ';
      out += bhttp::obsolete_reason(static_cast<bhttp::status>(status));
      out += "\r\nServer: tandem\r\n";
    }
    append_field(out, "Content-Type", content_type);
    for (const auto& h : headers) append_field(out, h.name, h.value);
    if (!keep_alive || draining_) {
      out += "Connection: close\r\n";
      must_close_ = true;
    } else if (version_ == 10) {
      out += "Connection: keep-alive\r\n";
    }
  }

  Conn& conn_;
  const ServerOptions& options_;
  const bool& draining_;  // the worker is shutting down: every response says Connection: close
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool responded_ = false;
  bool streaming_ = false;
  bool must_close_ = false;  // close the connection after this response
  bool broken_ = false;      // a write failed: the client is gone
  bool raw_stream_ = false;  // an HTTP/1.0 stream: no chunked encoding
  std::unique_ptr<CancelSignal> cancel_ = std::make_unique<CancelSignal>();
};

// A request whose handler is running, for the disconnect sweep.
struct ActiveRequest {
  Socket* socket;
  CancelSignal* signal;
  std::chrono::steady_clock::time_point started;
};

constexpr auto kDisconnectSweep = std::chrono::milliseconds(50);

// Notices clients that went away while their handler runs (waiting on an upstream, streaming), so
// the request's CancelSignal fires and upstream work stops. One poll() every 50 ms over the
// requests running longer than that replaces a watch operation per request, which cost a tenth
// of the gateway's CPU per proxied request (measured).
Task<void> sweep_disconnects(Worker& worker) {
  Timer timer(worker.ioc);
  std::vector<pollfd> fds;
  std::vector<ActiveRequest*> requests;
  for (;;) {
    timer.expires_after(kDisconnectSweep);
    auto [ec] = co_await timer.async_wait(nothrow);
    if (ec) co_return;
    fds.clear();
    requests.clear();
    auto now = std::chrono::steady_clock::now();
    for (ActiveRequest* r : worker.active) {
      if (now - r->started < kDisconnectSweep || r->signal->cancelled()) continue;
      fds.push_back({r->socket->native_handle(), POLLIN | POLLRDHUP, 0});
      requests.push_back(r);
    }
    if (fds.empty() || ::poll(fds.data(), fds.size(), 0) <= 0) continue;
    for (std::size_t i = 0; i < fds.size(); ++i) {
      short events = fds[i].revents;
      bool gone = (events & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
      if (!gone && (events & POLLIN) != 0) {
        char c;
        ssize_t n = ::recv(fds[i].fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
        gone = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
        // n > 0: the client pipelined its next request; it is still there.
      }
      if (gone) requests[i]->signal->cancel();
    }
  }
}

// Keeps worker.active and worker.connections right however a session's coroutine ends.
struct ActiveGuard {
  ActiveGuard(Worker& w, ActiveRequest* r) : worker(w), request(r) { worker.active.insert(r); }
  ~ActiveGuard() { worker.active.erase(request); }
  Worker& worker;
  ActiveRequest* request;
};
struct ConnectionCount {
  explicit ConnectionCount(Worker& w) : worker(w) {}  // counted by the accept loop
  ~ConnectionCount() { worker.connections.fetch_sub(1); }
  Worker& worker;
};

// Closes the sending side, then reads and drops what the client still sends for a moment, so a
// client that is mid-upload still receives our error instead of a reset.
Task<void> lingering_close(Conn& conn) {
  beast::error_code ec;
  conn.socket.shutdown(asio::socket_base::shutdown_send, ec);
  conn.deadline.expires_after(std::chrono::milliseconds(500));
  std::array<char, 8192> sink;
  for (int i = 0; i < 128; ++i) {
    auto [rec, n] = co_await conn.socket.async_read_some(asio::buffer(sink), nothrow);
    if (rec) break;
  }
  conn.socket.close(ec);
}

Task<void> run_session(Worker& worker, const ServerOptions& options, Socket socket) {
  ConnectionCount counted(worker);
  Conn conn(worker.ioc, std::move(socket));
  beast::flat_buffer buffer;
  SessionResponder responder(conn, options, worker.draining);
  bool linger = false;

  for (;;) {
    if (buffer.size() == 0) {
      if (worker.draining) break;
      // Idle keep-alive wait: the first byte of the next request.
      conn.deadline.expires_after(options.idle_timeout);
      worker.idle.insert(&conn);
      auto [ec, n] = co_await conn.socket.async_read_some(buffer.prepare(4096), nothrow);
      worker.idle.erase(&conn);
      if (ec) break;
      buffer.commit(n);
    }
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
    parser.body_limit(options.max_body_bytes);
    conn.deadline.expires_after(options.read_timeout);
    auto [hec, hn] = co_await bhttp::async_read_header(conn.socket, buffer, parser, nothrow);
    boost::system::error_code ec = hec;
    if (!ec && !parser.is_done()) {
      // curl and others wait (a second, for curl) for leave to send a large body.
      if (iequals(parser.get()[bhttp::field::expect], "100-continue")) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        auto [wec, wn] = co_await asio::async_write(conn.socket, asio::buffer(kContinue), nothrow);
        ec = wec;
      }
      if (!ec) {
        auto [bec, bn] = co_await bhttp::async_read(conn.socket, buffer, parser, nothrow);
        ec = bec;
      }
    }
    conn.deadline.expires_never();
    if (ec) {
      std::optional<core::ApiError> error;
      if (conn.deadline.expired()) {
        // Too slow (slow-loris or a stalled upload): dropped without an answer, as nginx does.
        log::debug("request_read_timeout", {{"ms", options.read_timeout.count()}});
        conn.socket.close(ec);
        break;
      }
      if (ec == bhttp::error::body_limit) {
        error = core::too_large("request body exceeds the limit of " +
                                std::to_string(options.max_body_bytes) + " bytes");
      } else if (ec == bhttp::error::header_limit) {
        error = core::ApiError{431, "invalid_request_error", "headers_too_large",
                               "request headers exceed the limit of " +
                                   std::to_string(options.max_header_bytes) + " bytes",
                               ""};
      } else if (ec != bhttp::error::end_of_stream && ec != asio::error::eof &&
                 ec != asio::error::connection_reset && ec != asio::error::operation_aborted) {
        error = core::invalid_request("malformed HTTP request: " + ec.message());
      }
      if (error) {
        auto res = error_response(*error);
        conn.deadline.expires_after(options.write_timeout);
        co_await bhttp::async_write(conn.socket, res, nothrow);
        linger = true;
      }
      break;
    }

    auto& msg = parser.get();
    Request request;
    request.method = std::string(msg.method_string());
    request.target = std::string(msg.target());
    request.headers.reserve(8);
    for (const auto& field : msg) {
      request.headers.push_back({std::string(field.name_string()), std::string(field.value())});
    }
    request.body = std::move(msg.body());
    bool keep_alive = msg.keep_alive() && !worker.draining;
    responder.reset_for(msg.version(), keep_alive);

    bool failed = false;
    {
      ActiveRequest active{&conn.socket, &responder.cancel_signal(),
                           std::chrono::steady_clock::now()};
      ActiveGuard registered(worker, &active);
      try {
        co_await worker.handler(request, responder);
      } catch (const std::exception& e) {
        log::error("handler_exception", {{"what", e.what()}, {"target", request.target}});
        failed = true;
      } catch (...) {
        log::error("handler_exception", {{"what", "unknown"}, {"target", request.target}});
        failed = true;
      }
    }
    if (failed) {
      // A bug, not a client error: answer 500 and close if nothing was sent yet (gracefully, so
      // the 500 arrives); mid-response, drop the connection so the client sees it broke.
      if (!responder.responded()) {
        Response r;
        r.status = 500;
        r.body = core::to_json(core::internal_error("internal error"));
        co_await responder.send(std::move(r));
        break;
      }
      responder.reset_connection();
    }
    if (responder.cancel_signal().cancelled() &&
        responder.cancel_signal().reason() == CancelSignal::Reason::client_gone) {
      break;  // the client is gone
    }
    if (!responder.responded()) {
      Response r;
      r.status = 500;
      r.body = core::to_json(core::internal_error("handler produced no response"));
      co_await responder.send(std::move(r));
    }
    if (!conn.socket.is_open() || responder.must_close() || !keep_alive || worker.draining) {
      break;
    }
  }
  if (linger) {
    co_await lingering_close(conn);
  } else {
    beast::error_code ec;
    conn.socket.shutdown(asio::socket_base::shutdown_send, ec);
    conn.socket.close(ec);
  }
}

Task<void> accept_loop(Worker& worker, const ServerOptions& options) {
  for (;;) {
    auto [ec, socket] = co_await worker.acceptor->async_accept(nothrow);
    if (ec) {
      if (ec == asio::error::operation_aborted || !worker.acceptor->is_open()) co_return;
      // Out of file descriptors or similar: back off briefly instead of spinning.
      log::warn("accept_failed", {{"error", ec.message()}});
      Timer t(worker.ioc, std::chrono::milliseconds(50));
      co_await t.async_wait(nothrow);
      continue;
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    // Counted here, before the session is scheduled, so that stop() never misses it.
    worker.connections.fetch_add(1);
    asio::co_spawn(worker.ioc, run_session(worker, options, std::move(socket)), asio::detached);
  }
}

}  // namespace

struct Server::Impl {
  ServerOptions options;
  HandlerFactory factory;
  std::vector<std::unique_ptr<Worker>> workers;
  std::uint16_t bound_port = 0;
  std::mutex mutex;
  std::condition_variable stopped_cv;
  bool started = false;
  bool stopping = false;
  bool stopped = false;
};

Server::Server(ServerOptions options, HandlerFactory factory) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->factory = std::move(factory);
}

Server::~Server() {
  stop();
}

void Server::start() {
  auto& o = impl_->options;
  int threads = std::max(1, o.threads);
  asio::ip::address address;
  try {
    address = asio::ip::make_address(o.host);
  } catch (const std::exception&) {
    throw std::runtime_error("cannot listen on '" + o.host + "': not an IP address");
  }
  std::uint16_t port = o.port;
  for (int i = 0; i < threads; ++i) {
    auto worker = std::make_unique<Worker>();
    worker->acceptor.emplace(worker->ioc);
    tcp::endpoint endpoint(address, port);
    beast::error_code ec;
    worker->acceptor->open(endpoint.protocol(), ec);
    if (!ec) worker->acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) worker->acceptor->set_option(reuse_port(true), ec);
    if (!ec) worker->acceptor->bind(endpoint, ec);
    if (!ec) worker->acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      throw std::runtime_error("cannot listen on " + o.host + ":" + std::to_string(port) + ": " +
                               ec.message());
    }
    port = worker->acceptor->local_endpoint().port();  // the first bind fixes an ephemeral port
    worker->handler = impl_->factory(worker->ioc, i);
    impl_->workers.push_back(std::move(worker));
  }
  impl_->bound_port = port;
  for (auto& w : impl_->workers) {
    Worker* worker = w.get();
    asio::co_spawn(worker->ioc, accept_loop(*worker, impl_->options), asio::detached);
    asio::co_spawn(worker->ioc, sweep_disconnects(*worker), asio::detached);
    worker->thread = std::thread([worker] {
      for (;;) {
        try {
          worker->ioc.run();
          break;
        } catch (const std::exception& e) {
          log::error("worker_exception", {{"what", e.what()}});
        }
      }
    });
  }
  std::lock_guard lock(impl_->mutex);
  impl_->started = true;
}

std::uint16_t Server::port() const {
  return impl_->bound_port;
}

int Server::open_connections() const {
  int n = 0;
  for (const auto& w : impl_->workers) n += w->connections.load();
  return n;
}

void Server::stop() {
  {
    std::unique_lock lock(impl_->mutex);
    if (!impl_->started || impl_->stopped) return;
    if (impl_->stopping) {
      impl_->stopped_cv.wait(lock, [&] { return impl_->stopped; });
      return;
    }
    impl_->stopping = true;
  }
  for (auto& w : impl_->workers) {
    Worker* worker = w.get();
    asio::post(worker->ioc, [worker] {
      worker->draining = true;
      beast::error_code ec;
      worker->acceptor->close(ec);
      for (Conn* c : worker->idle) {
        beast::error_code ignored;
        c->socket.cancel(ignored);
      }
      worker->drain_started = true;
    });
  }
  auto wait_until = [&](std::chrono::steady_clock::time_point deadline, auto done) {
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  };
  auto start = std::chrono::steady_clock::now();
  wait_until(start + std::chrono::seconds(1), [&] {
    for (auto& w : impl_->workers) {
      if (!w->drain_started) return false;
    }
    return true;
  });
  wait_until(start + impl_->options.drain_timeout, [&] { return open_connections() == 0; });
  int left = open_connections();
  if (left > 0) {
    // Out of patience: cut what still runs, with a last word to its client (an SSE error event
    // or a 503), then give those answers a moment to go out.
    log::warn("drain_timeout", {{"open_connections", left}});
    for (auto& w : impl_->workers) {
      Worker* worker = w.get();
      asio::post(worker->ioc, [worker] {
        std::vector<ActiveRequest*> running(worker->active.begin(), worker->active.end());
        for (ActiveRequest* r : running) r->signal->cancel(CancelSignal::Reason::shutdown);
      });
    }
    wait_until(std::chrono::steady_clock::now() + std::chrono::seconds(1),
               [&] { return open_connections() == 0; });
  }
  for (auto& w : impl_->workers) w->ioc.stop();
  for (auto& w : impl_->workers) {
    if (w->thread.joinable()) w->thread.join();
  }
  std::lock_guard lock(impl_->mutex);
  impl_->stopped = true;
  impl_->stopped_cv.notify_all();
}

void Server::wait() {
  std::unique_lock lock(impl_->mutex);
  impl_->stopped_cv.wait(lock, [&] { return impl_->stopped || !impl_->started; });
}

}  // namespace tandem::http
