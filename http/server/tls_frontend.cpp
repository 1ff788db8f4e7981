#include "tls_frontend.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace culex {
namespace {

constexpr int kHandshakeTimeoutS = 10;
constexpr int kIdleTimeoutMs = 60000;
constexpr size_t kChunk = 16384;

void set_timeout(int fd, int seconds) {
    timeval tv{seconds, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

int connect_backend(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

bool write_all(int fd, const char* data, size_t n) {
    while (n > 0) {
        ssize_t w = send(fd, data, n, MSG_NOSIGNAL);
        if (w <= 0)
            return false;
        data += w;
        n -= static_cast<size_t>(w);
    }
    return true;
}

}  // namespace

TlsFrontend::TlsFrontend(std::string listen, std::string cert_file, std::string key_file,
                         int backend_port, int max_connections)
    : listen_(std::move(listen)),
      cert_file_(std::move(cert_file)),
      key_file_(std::move(key_file)),
      backend_port_(backend_port),
      max_connections_(max_connections) {}

TlsFrontend::~TlsFrontend() {
    stop();
    if (ssl_ctx_ != nullptr)
        SSL_CTX_free(ssl_ctx_);
}

Status TlsFrontend::start() {
    ssl_ctx_ = SSL_CTX_new(TLS_server_method());
    if (ssl_ctx_ == nullptr)
        return Status::error("plugin_opt_http_tls_cert: OpenSSL cannot create a TLS context");
    SSL_CTX_set_min_proto_version(ssl_ctx_, TLS1_2_VERSION);
    if (SSL_CTX_use_certificate_chain_file(ssl_ctx_, cert_file_.c_str()) != 1) {
        ERR_clear_error();
        return Status::error("plugin_opt_http_tls_cert: cannot load certificate '" + cert_file_ +
                             "' (expected PEM)");
    }
    if (SSL_CTX_use_PrivateKey_file(ssl_ctx_, key_file_.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ssl_ctx_) != 1) {
        ERR_clear_error();
        return Status::error("plugin_opt_http_tls_key: cannot load key '" + key_file_ +
                             "', or it does not match the certificate");
    }
    const size_t colon = listen_.rfind(':');
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(std::stoi(listen_.substr(colon + 1))));
    inet_pton(AF_INET, listen_.substr(0, colon).c_str(), &addr.sin_addr);
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 128) != 0) {
        const int err = errno;
        if (listen_fd_ >= 0)
            close(listen_fd_);
        listen_fd_ = -1;
        return Status::error("plugin_opt_http_listen: cannot serve HTTPS on " + listen_ + ": " +
                             std::string(strerror(err)));
    }
    acceptor_ = std::thread([this] { accept_loop(); });
    return Status::ok();
}

void TlsFrontend::stop() {
    if (listen_fd_ < 0)
        return;
    stopping_ = true;
    shutdown(listen_fd_, SHUT_RDWR);
    if (acceptor_.joinable())
        acceptor_.join();
    close(listen_fd_);
    listen_fd_ = -1;
    std::list<Connection> remaining;
    {
        std::lock_guard<std::mutex> lock(mu_);
        for (Connection& c : connections_)
            shutdown(c.fd, SHUT_RDWR);
        remaining.splice(remaining.end(), connections_);
    }
    for (Connection& c : remaining)
        c.thread.join();
}

void TlsFrontend::reap_finished() {
    std::list<Connection> finished;
    {
        std::lock_guard<std::mutex> lock(mu_);
        for (auto it = connections_.begin(); it != connections_.end();) {
            auto next = std::next(it);
            if (it->done)
                finished.splice(finished.end(), connections_, it);
            it = next;
        }
    }
    for (Connection& c : finished)
        c.thread.join();
}

void TlsFrontend::accept_loop() {
    while (!stopping_) {
        int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE)
                continue;
            return;  // the listener was shut down
        }
        reap_finished();
        std::lock_guard<std::mutex> lock(mu_);
        if (static_cast<int>(connections_.size()) >= max_connections_) {
            close(fd);  // over the limit: refused, as civetweb itself would queue or drop
            continue;
        }
        connections_.emplace_back();
        Connection& c = connections_.back();
        c.fd = fd;
        c.thread = std::thread([this, &c] { relay(c); });
    }
}

void TlsFrontend::relay(Connection& connection) {
    const int client = connection.fd;
    set_timeout(client, kHandshakeTimeoutS);
    int one = 1;
    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    SSL* ssl = SSL_new(ssl_ctx_);
    int backend = -1;
    if (ssl != nullptr && SSL_set_fd(ssl, client) == 1 && SSL_accept(ssl) == 1)
        backend = connect_backend(backend_port_);
    if (backend >= 0) {
        set_timeout(client, kIdleTimeoutMs / 1000);
        char buf[kChunk];
        bool open = true;
        while (open && !stopping_) {
            // Bytes OpenSSL already decrypted do not show up in poll.
            if (SSL_pending(ssl) == 0) {
                pollfd fds[2] = {{client, POLLIN, 0}, {backend, POLLIN, 0}};
                if (poll(fds, 2, kIdleTimeoutMs) <= 0)
                    break;
                if ((fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
                    ssize_t n = recv(backend, buf, sizeof buf, 0);
                    if (n <= 0 || SSL_write(ssl, buf, static_cast<int>(n)) <= 0)
                        break;
                }
                if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) == 0)
                    continue;
            }
            int n = SSL_read(ssl, buf, sizeof buf);
            open = n > 0 && write_all(backend, buf, static_cast<size_t>(n));
        }
        close(backend);
        SSL_shutdown(ssl);
    }
    ERR_clear_error();
    if (ssl != nullptr)
        SSL_free(ssl);
    {
        std::lock_guard<std::mutex> lock(mu_);
        close(client);
        connection.fd = -1;
    }
    connection.done = true;
}

}  // namespace culex
