// HTTPS for the embedded server. Debian bookworm's civetweb 1.15 loads OpenSSL by
// symbol name with the 1.1 API and cannot use bookworm's OpenSSL 3 (it looks for
// SSL_get_peer_certificate, which OpenSSL 3 no longer exports), so Culex terminates TLS
// itself: it accepts on the configured address, completes the handshake, and relays
// the decrypted bytes to civetweb listening on a private loopback port.
//
// start() and stop() run on the broker thread; one accept thread and one thread per
// connection (at most max_connections; more are refused) relay bytes and never call
// broker functions.
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <list>
#include <mutex>
#include <string>
#include <thread>

#include "common/status.h"

namespace culex {

class TlsFrontend {
  public:
    TlsFrontend(std::string listen, std::string cert_file, std::string key_file, int backend_port,
                int max_connections);
    ~TlsFrontend();
    TlsFrontend(const TlsFrontend&) = delete;
    TlsFrontend& operator=(const TlsFrontend&) = delete;

    // Loads the certificate and key and binds; errors name the option to fix.
    Status start();
    // Closes the listener and every connection, and joins the threads. Idempotent.
    void stop();

  private:
    struct Connection {
        int fd = -1;
        std::thread thread;
        std::atomic<bool> done{false};
    };

    void accept_loop();
    void relay(Connection& connection);
    void reap_finished();

    const std::string listen_;
    const std::string cert_file_;
    const std::string key_file_;
    const int backend_port_;
    const int max_connections_;
    SSL_CTX* ssl_ctx_ = nullptr;
    int listen_fd_ = -1;
    std::atomic<bool> stopping_{false};
    std::thread acceptor_;
    std::mutex mu_;
    std::list<Connection> connections_;
};

}  // namespace culex
