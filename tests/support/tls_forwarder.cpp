#include "tls_forwarder.h"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <thread>

namespace tandem::testing {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

namespace {

template <typename From, typename To>
asio::awaitable<void> pipe(From& from, To& to) {
  std::array<char, 16384> buf;
  for (;;) {
    auto [rec, n] = co_await from.async_read_some(asio::buffer(buf), nothrow);
    if (rec) break;
    auto [wec, w] = co_await asio::async_write(to, asio::buffer(buf.data(), n), nothrow);
    if (wec) break;
  }
}

asio::awaitable<void> serve(ssl::context& ctx, tcp::socket client, std::uint16_t target) {
  auto tls = std::make_shared<ssl::stream<tcp::socket>>(std::move(client), ctx);
  auto [hec] = co_await tls->async_handshake(ssl::stream_base::server, nothrow);
  if (hec) co_return;  // e.g. the gateway refused our certificate
  auto plain = std::make_shared<tcp::socket>(co_await asio::this_coro::executor);
  auto [cec] = co_await plain->async_connect(
      tcp::endpoint(asio::ip::address_v4::loopback(), target), nothrow);
  if (cec) co_return;
  auto ex = co_await asio::this_coro::executor;
  asio::co_spawn(
      ex,
      [tls, plain]() -> asio::awaitable<void> {
        co_await pipe(*plain, *tls);
        boost::system::error_code ignored;
        tls->lowest_layer().close(ignored);
      },
      asio::detached);
  co_await pipe(*tls, *plain);
  boost::system::error_code ignored;
  plain->close(ignored);
}

}  // namespace

struct TlsForwarder::Impl {
  asio::io_context ioc;
  ssl::context ctx{ssl::context::tls_server};
  tcp::acceptor acceptor{ioc};
  std::filesystem::path dir;
  std::string cert;
  std::thread thread;
};

TlsForwarder::TlsForwarder(std::uint16_t target_port, const std::string& common_name)
    : impl_(std::make_unique<Impl>()) {
  char tmpl[] = "/tmp/tandem-tls.XXXXXX";
  if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  impl_->dir = tmpl;
  impl_->cert = (impl_->dir / "cert.pem").string();
  std::string key = (impl_->dir / "key.pem").string();
  std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -keyout " + key + " -out " +
                    impl_->cert + " -subj /CN=" + common_name +
                    " -addext subjectAltName=DNS:" + common_name + " >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("openssl req failed: " + cmd);
  impl_->ctx.use_certificate_chain_file(impl_->cert);
  impl_->ctx.use_private_key_file(key, ssl::context::pem);
  impl_->acceptor.open(tcp::v4());
  impl_->acceptor.bind(tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  impl_->acceptor.listen();
  Impl* impl = impl_.get();
  asio::co_spawn(
      impl->ioc,
      [impl, target_port]() -> asio::awaitable<void> {
        for (;;) {
          auto [ec, socket] = co_await impl->acceptor.async_accept(nothrow);
          if (ec) co_return;
          asio::co_spawn(impl->ioc, serve(impl->ctx, std::move(socket), target_port),
                         asio::detached);
        }
      },
      asio::detached);
  impl_->thread = std::thread([impl] { impl->ioc.run(); });
}

TlsForwarder::~TlsForwarder() {
  impl_->ioc.stop();
  impl_->thread.join();
  std::error_code ignored;
  std::filesystem::remove_all(impl_->dir, ignored);
}

std::uint16_t TlsForwarder::port() const {
  return impl_->acceptor.local_endpoint().port();
}
const std::string& TlsForwarder::certificate_file() const {
  return impl_->cert;
}

}  // namespace tandem::testing
