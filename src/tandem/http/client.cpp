#include "tandem/http/client.h"
#include "tandem/http/deadline.h"

#include <poll.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <deque>
#include <map>
#include <optional>
#include <unordered_map>

namespace tandem::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
constexpr auto nothrow = use_task;

const char* to_string(ClientErrorKind kind) {
  switch (kind) {
    case ClientErrorKind::none:
      return "none";
    case ClientErrorKind::connect:
      return "connect";
    case ClientErrorKind::tls:
      return "tls";
    case ClientErrorKind::timeout:
      return "timeout";
    case ClientErrorKind::reset:
      return "reset";
    case ClientErrorKind::protocol:
      return "protocol";
    case ClientErrorKind::cancelled:
      return "cancelled";
    case ClientErrorKind::too_large:
      return "too_large";
  }
  return "unknown";
}

namespace {

constexpr auto kMaxIdleAge = std::chrono::seconds(30);
constexpr auto kFreshAge = std::chrono::milliseconds(1000);
constexpr auto kDnsTtl = std::chrono::seconds(60);

struct Connection {
  std::string key;
  std::unique_ptr<ssl::stream<Socket>> tls;
  std::unique_ptr<Socket> plain;
  std::unique_ptr<Deadline> deadline;  // set once the socket exists
  beast::flat_buffer buffer;
  Clock::time_point idle_since;

  Socket& socket() { return tls ? tls->next_layer() : *plain; }
  void cancel() {
    boost::system::error_code ignored;
    socket().cancel(ignored);
  }
};

// Calls fn with the connection's outermost stream, TLS or plain.
template <typename Fn>
auto with_stream(Connection& c, Fn&& fn) {
  if (c.tls) return fn(*c.tls);
  return fn(*c.plain);
}

// True when an idle pooled socket has been closed by the peer (or has stray bytes): unusable.
// A connection idle for less than kFreshAge is taken as live without a system call: upstreams
// close idle connections after seconds, not milliseconds, and a reused connection that turns out
// closed before any response byte is replaced transparently anyway (HttpClient::send).
bool stale(Connection& c) {
  auto idle = Clock::now() - c.idle_since;
  if (idle > kMaxIdleAge) return true;
  if (idle < kFreshAge) return false;
  pollfd p{c.socket().native_handle(), POLLIN, 0};
  return ::poll(&p, 1, 0) != 0;
}

// Per-thread connection pools and TLS contexts, owned by the io_context so that pooled sockets
// are closed before the io_context goes away.
class PoolService : public asio::execution_context::service {
 public:
  using key_type = PoolService;
  static inline asio::execution_context::id id;
  explicit PoolService(asio::execution_context& ctx) : service(ctx) {}

  void shutdown() override {
    closed_ = true;
    pools_.clear();
  }

  std::unique_ptr<Connection> take(const std::string& key) {
    auto it = pools_.find(key);
    if (it == pools_.end()) return nullptr;
    auto& idle = it->second;
    while (!idle.empty()) {
      auto c = std::move(idle.back());
      idle.pop_back();
      if (!stale(*c)) return c;
    }
    return nullptr;
  }

  void put(std::unique_ptr<Connection> c, int max_idle) {
    if (closed_ || max_idle <= 0) return;
    auto& idle = pools_[c->key];
    if (static_cast<int>(idle.size()) >= max_idle) return;
    c->idle_since = Clock::now();
    c->deadline->expires_never();
    idle.push_back(std::move(c));
  }

  const std::vector<tcp::endpoint>* cached_addresses(const std::string& host, std::uint16_t port) {
    auto it = dns_.find(host + ":" + std::to_string(port));
    if (it == dns_.end() || Clock::now() - it->second.first > kDnsTtl) return nullptr;
    return &it->second.second;
  }
  void cache_addresses(const std::string& host, std::uint16_t port,
                       std::vector<tcp::endpoint> endpoints) {
    if (endpoints.empty()) return;
    dns_[host + ":" + std::to_string(port)] = {Clock::now(), std::move(endpoints)};
  }

  ssl::context* tls_context(bool verify, const std::string& ca_file, std::string* error) {
    std::string key = (verify ? "v:" : "n:") + ca_file;
    auto it = tls_.find(key);
    if (it != tls_.end()) return it->second.get();
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
    boost::system::error_code ec;
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    ctx->set_default_verify_paths(ec);
    if (!ca_file.empty()) {
      ctx->load_verify_file(ca_file, ec);
      if (ec) {
        *error = "cannot load CA file " + ca_file + ": " + ec.message();
        return nullptr;
      }
    }
    ctx->set_verify_mode(verify ? ssl::verify_peer : ssl::verify_none);
    auto* raw = ctx.get();
    tls_.emplace(key, std::move(ctx));
    return raw;
  }

 private:
  bool closed_ = false;
  std::unordered_map<std::string, std::deque<std::unique_ptr<Connection>>> pools_;
  std::map<std::string, std::unique_ptr<ssl::context>> tls_;
  std::unordered_map<std::string, std::pair<Clock::time_point, std::vector<tcp::endpoint>>> dns_;
};

ClientErrorKind classify(const boost::system::error_code& ec, bool cancelled, bool timed_out) {
  if (cancelled) return ClientErrorKind::cancelled;
  if (timed_out) return ClientErrorKind::timeout;
  if (ec.category() == asio::error::get_ssl_category() || ec == ssl::error::stream_truncated) {
    return ClientErrorKind::tls;
  }
  if (ec.category() == bhttp::make_error_code(bhttp::error::end_of_stream).category()) {
    if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message) {
      return ClientErrorKind::reset;
    }
    return ClientErrorKind::protocol;
  }
  return ClientErrorKind::reset;
}

// A pooled connection the upstream had closed while it sat idle: it fails before any response
// byte with EOF, a reset, a broken pipe, or (TLS) a truncated stream.
bool closed_while_idle(const boost::system::error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == ssl::error::stream_truncated ||
         ec == bhttp::error::end_of_stream;
}

ClientError cancelled_error() {
  return {ClientErrorKind::cancelled, "request cancelled"};
}

std::string connection_key(const Endpoint& e) {
  return (e.tls ? "https://" : "http://") + e.host + ":" + std::to_string(e.port) +
         (e.tls ? (e.verify_tls ? "|v|" : "|n|") + e.ca_file : "");
}

}  // namespace

struct ClientResponse::Impl {
  asio::io_context* ioc = nullptr;
  std::unique_ptr<Connection> conn;
  bhttp::response_parser<bhttp::string_body> parser;
  Headers headers;
  int max_idle = 0;
  bool failed = false;
  CancelSignal* cancel = nullptr;
  std::size_t hook = 0;
};

ClientResponse::ClientResponse(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ClientResponse::~ClientResponse() {
  if (impl_->cancel != nullptr) impl_->cancel->remove_hook(impl_->hook);
  // Pooled only when the response was read exactly to its end: leftover bytes would be taken for
  // the start of the next response.
  if (!impl_->failed && impl_->parser.is_done() && impl_->parser.keep_alive() &&
      impl_->conn->buffer.size() == 0) {
    asio::use_service<PoolService>(*impl_->ioc).put(std::move(impl_->conn), impl_->max_idle);
  }
}

int ClientResponse::status() const {
  return static_cast<int>(impl_->parser.get().result_int());
}
const Headers& ClientResponse::headers() const {
  return impl_->headers;
}

Task<ClientError> ClientResponse::read_some(std::string& out, bool& done,
                                            Clock::time_point deadline) {
  auto& impl = *impl_;
  done = impl.parser.is_done();
  if (done) co_return ClientError{};
  if (is_cancelled(impl.cancel)) {
    impl.failed = true;
    co_return cancelled_error();
  }
  impl.conn->deadline->expires_at(deadline);
  auto [ec, n] = co_await with_stream(*impl.conn, [&](auto& s) {
    return bhttp::async_read_some(s, impl.conn->buffer, impl.parser, nothrow);
  });
  auto& body = impl.parser.get().body();
  out.append(body);
  body.clear();
  if (ec) {
    impl.failed = true;
    bool cancelled = is_cancelled(impl.cancel);
    co_return ClientError{classify(ec, cancelled, impl.conn->deadline->expired()), ec.message()};
  }
  done = impl.parser.is_done();
  co_return ClientError{};
}

Task<ClientError> UpstreamResponse::read_all(std::string& out, std::size_t limit,
                                             Clock::time_point deadline) {
  bool done = false;
  while (!done) {
    ClientError err = co_await read_some(out, done, deadline);
    if (err) co_return err;
    if (out.size() > limit) {
      co_return ClientError{ClientErrorKind::too_large,
                            "response body exceeds " + std::to_string(limit) + " bytes"};
    }
  }
  co_return ClientError{};
}

HttpClient::HttpClient(asio::io_context& ioc) : ioc_(ioc) {}

namespace {

Task<ClientError> open_connection(asio::io_context& ioc, const Endpoint& e, Connection& c,
                                  Millis connect_timeout, CancelSignal* cancel) {
  PoolService& pool = asio::use_service<PoolService>(ioc);
  if (e.tls) {
    std::string error;
    ssl::context* ctx = pool.tls_context(e.verify_tls, e.ca_file, &error);
    if (ctx == nullptr) co_return ClientError{ClientErrorKind::tls, error};
    c.tls = std::make_unique<ssl::stream<Socket>>(ioc, *ctx);
  } else {
    c.plain = std::make_unique<Socket>(ioc);
  }
  Resolver resolver(ioc);
  CancelHook hook(cancel, [&] {
    resolver.cancel();
    c.cancel();
  });
  // Addresses: an IP literal needs no lookup; host names are looked up once a minute per thread.
  // (A lookup in progress cannot be interrupted: getaddrinfo runs on Asio's resolver thread. The
  // cache keeps such waits to one per host and minute.)
  std::vector<tcp::endpoint> endpoints;
  boost::system::error_code aec;
  auto address = asio::ip::make_address(e.host, aec);
  if (!aec) {
    endpoints.emplace_back(address, e.port);
  } else if (const auto* cached = pool.cached_addresses(e.host, e.port)) {
    endpoints = *cached;
  } else {
    auto [rec, results] = co_await resolver.async_resolve(e.host, std::to_string(e.port), nothrow);
    if (is_cancelled(cancel)) co_return cancelled_error();
    if (rec)
      co_return ClientError{ClientErrorKind::connect,
                            "cannot resolve " + e.host + ": " + rec.message()};
    for (const auto& r : results) endpoints.push_back(r.endpoint());
    pool.cache_addresses(e.host, e.port, endpoints);
  }
  c.deadline = std::make_unique<Deadline>(ioc, c.socket());
  c.deadline->expires_after(connect_timeout);
  auto [cec, ep] = co_await asio::async_connect(c.socket(), endpoints, nothrow);
  if (is_cancelled(cancel)) co_return cancelled_error();
  if (cec) {
    if (c.deadline->expired()) {
      co_return ClientError{
          ClientErrorKind::timeout,
          "connect timed out after " + std::to_string(connect_timeout.count()) + " ms"};
    }
    co_return ClientError{ClientErrorKind::connect, "connect failed: " + cec.message()};
  }
  boost::system::error_code ignored;
  c.socket().set_option(tcp::no_delay(true), ignored);
  if (c.tls) {
    if (!SSL_set_tlsext_host_name(c.tls->native_handle(), e.host.c_str())) {
      co_return ClientError{ClientErrorKind::tls, "cannot set TLS server name"};
    }
    if (e.verify_tls) c.tls->set_verify_callback(ssl::host_name_verification(e.host));
    auto [hec] = co_await c.tls->async_handshake(ssl::stream_base::client, nothrow);
    if (is_cancelled(cancel)) co_return cancelled_error();
    if (hec) {
      if (c.deadline->expired()) {
        co_return ClientError{ClientErrorKind::timeout, "TLS handshake timed out"};
      }
      co_return ClientError{ClientErrorKind::tls, "TLS handshake failed: " + hec.message()};
    }
  }
  c.deadline->expires_never();
  co_return ClientError{};
}

}  // namespace

Task<HttpClient::Result> HttpClient::send(const Endpoint& endpoint, const OutgoingRequest& request,
                                          Millis connect_timeout, Clock::time_point deadline,
                                          CancelSignal* cancel) {
  PoolService& pool = asio::use_service<PoolService>(ioc_);
  std::string key = connection_key(endpoint);

  // Serialised by hand into one buffer: cheaper than Beast's serializer, and written in one call.
  std::string wire;
  wire.reserve(256 + request.body.size());
  wire += request.method;
  wire += ' ';
  wire += request.target;
  wire += " HTTP/1.1\r\nHost: ";
  wire += endpoint.host_header;
  wire += "\r\nUser-Agent: tandem\r\n";
  for (const auto& h : request.headers) {
    wire += h.name;
    wire += ": ";
    wire += h.value;
    wire += "\r\n";
  }
  wire += "Content-Length: ";
  wire += std::to_string(request.body.size());
  wire += "\r\n\r\n";
  wire += request.body;

  for (int attempt = 0; attempt < 2; ++attempt) {
    if (is_cancelled(cancel)) {
      co_return Result{nullptr, cancelled_error()};
    }
    std::unique_ptr<Connection> conn = attempt == 0 ? pool.take(key) : nullptr;
    bool reused = conn != nullptr;
    if (!conn) {
      conn = std::make_unique<Connection>();
      conn->key = key;
      ClientError err = co_await open_connection(ioc_, endpoint, *conn, connect_timeout, cancel);
      if (err) co_return Result{nullptr, err};
    }
    auto impl = std::make_unique<ClientResponse::Impl>();
    impl->ioc = &ioc_;
    impl->max_idle = endpoint.max_idle_connections;
    impl->parser.body_limit(boost::none);
    impl->parser.header_limit(64 * 1024);
    Connection* c = conn.get();
    impl->conn = std::move(conn);
    impl->cancel = cancel;
    if (cancel != nullptr) impl->hook = cancel->add_hook([c] { c->cancel(); });

    c->deadline->expires_at(deadline);
    auto [wec, wn] = co_await with_stream(
        *c, [&](auto& s) { return asio::async_write(s, asio::buffer(wire), nothrow); });
    boost::system::error_code ec = wec;
    if (!ec) {
      auto [rec, rn] = co_await with_stream(*c, [&](auto& s) {
        return bhttp::async_read_header(s, c->buffer, impl->parser, nothrow);
      });
      ec = rec;
    }
    bool cancelled = is_cancelled(cancel);
    if (ec) {
      impl->failed = true;
      bool nothing_received = !impl->parser.got_some();
      ClientResponse dropped(std::move(impl));  // removes the cancel hook, drops the connection
      bool timed_out = c->deadline->expired();
      ClientErrorKind kind = classify(ec, cancelled, timed_out);
      // A reused connection the upstream closed while idle: retry once on a fresh one. Only when
      // nothing of a response arrived, so that no request is ever answered twice.
      if (reused && !cancelled && !timed_out && nothing_received && closed_while_idle(ec)) {
        continue;
      }
      std::string what =
          kind == ClientErrorKind::timeout ? "no response before the deadline" : ec.message();
      co_return Result{nullptr, {kind, what}};
    }
    for (const auto& field : impl->parser.get()) {
      impl->headers.push_back({std::string(field.name_string()), std::string(field.value())});
    }
    co_return Result{std::make_unique<ClientResponse>(std::move(impl)), {}};
  }
  co_return Result{nullptr, {ClientErrorKind::reset, "connection closed by upstream"}};
}

}  // namespace tandem::http
