#include "transport.h"

#include <openssl/err.h>
#include <sys/socket.h>

#include <cerrno>
#include <climits>

namespace culex {
namespace {

class PlainTransport final : public Transport {
  public:
    explicit PlainTransport(int fd) : fd_(fd) {}
    IoResult handshake() override { return {}; }
    IoResult read(char* buffer, size_t size) override {
        return outcome(recv(fd_, buffer, size, 0));
    }
    IoResult write(const char* data, size_t size) override {
        return outcome(send(fd_, data, size, MSG_NOSIGNAL));
    }
    void shutdown_write() override { shutdown(fd_, SHUT_WR); }
    // Only a write waits for writability, and the caller knows it has output.
    bool blocked_on_write() const override { return false; }

  private:
    static IoResult outcome(ssize_t n) {
        if (n > 0)
            return {IoResult::Kind::kOk, static_cast<size_t>(n)};
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return {IoResult::Kind::kWouldBlock, 0};
        return {IoResult::Kind::kClosed, 0};
    }

    const int fd_;
};

class TlsTransport final : public Transport {
  public:
    TlsTransport(SSL* ssl, int fd) : ssl_(ssl), fd_(fd) {}
    ~TlsTransport() override {
        SSL_free(ssl_);
        ERR_clear_error();
    }
    TlsTransport(const TlsTransport&) = delete;
    TlsTransport& operator=(const TlsTransport&) = delete;

    IoResult handshake() override {
        ERR_clear_error();
        const int r = SSL_accept(ssl_);
        return outcome(r, r == 1);
    }
    IoResult read(char* buffer, size_t size) override {
        ERR_clear_error();
        const int n = SSL_read(ssl_, buffer, clamp(size));
        return outcome(n, n > 0);
    }
    IoResult write(const char* data, size_t size) override {
        ERR_clear_error();
        const int n = SSL_write(ssl_, data, clamp(size));
        return outcome(n, n > 0);
    }
    void shutdown_write() override {
        ERR_clear_error();
        SSL_shutdown(ssl_);
        shutdown(fd_, SHUT_WR);
    }
    bool blocked_on_write() const override { return want_ == SSL_ERROR_WANT_WRITE; }

  private:
    static int clamp(size_t size) { return size > INT_MAX ? INT_MAX : static_cast<int>(size); }

    IoResult outcome(int n, bool ok) {
        want_ = SSL_ERROR_NONE;
        if (ok)
            return {IoResult::Kind::kOk, static_cast<size_t>(n > 0 ? n : 0)};
        const int error = SSL_get_error(ssl_, n);
        if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
            want_ = error;
            return {IoResult::Kind::kWouldBlock, 0};
        }
        return {IoResult::Kind::kClosed, 0};
    }

    SSL* ssl_;
    const int fd_;
    int want_ = SSL_ERROR_NONE;
};

}  // namespace

std::unique_ptr<Transport> plain_transport(int fd) {
    return std::make_unique<PlainTransport>(fd);
}

Result<std::shared_ptr<TlsContext>> TlsContext::load(const std::string& cert_file,
                                                     const std::string& key_file) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == nullptr)
        return Status::error("plugin_opt_http_tls_cert: OpenSSL cannot create a TLS context");
    std::shared_ptr<TlsContext> owned(new TlsContext(ctx));
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    // Non-blocking writes resume from wherever the buffer is; idle connections give
    // their buffers back (a thousand kept-alive clients would otherwise hold ~70 MB).
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    // A client that drops the TCP connection without close_notify has simply gone.
    // Without renegotiation a write never has to wait for the client's bytes.
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
        ERR_clear_error();
        return Status::error("plugin_opt_http_tls_cert: cannot load certificate '" + cert_file +
                             "' (expected PEM)");
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        ERR_clear_error();
        return Status::error("plugin_opt_http_tls_key: cannot load key '" + key_file +
                             "', or it does not match the certificate");
    }
    return owned;
}

TlsContext::~TlsContext() {
    SSL_CTX_free(ctx_);
}

std::unique_ptr<Transport> TlsContext::wrap(int fd) const {
    SSL* ssl = SSL_new(ctx_);
    if (ssl == nullptr || SSL_set_fd(ssl, fd) != 1) {
        if (ssl != nullptr)
            SSL_free(ssl);
        ERR_clear_error();
        return nullptr;
    }
    return std::make_unique<TlsTransport>(ssl, fd);
}

}  // namespace culex
