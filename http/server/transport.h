// The bytes of one client connection of the front end (frontend.h), plain or TLS, on a
// non-blocking socket. Debian bookworm's civetweb 1.15 loads OpenSSL by symbol name with
// the 1.1 API and cannot use bookworm's OpenSSL 3 (it looks for SSL_get_peer_certificate,
// which OpenSSL 3 no longer exports), so Culex terminates TLS itself, here.
//
// A Transport does not own its socket (the connection closes it). Everything runs on the
// front end's event-loop thread; TlsContext::load runs on the broker thread at start.
#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <memory>
#include <string>

#include "common/status.h"

namespace culex {

struct IoResult {
    enum class Kind { kOk, kWouldBlock, kClosed };  // kClosed: end of stream, or an error
    Kind kind = Kind::kOk;
    size_t bytes = 0;  // kOk: how many were read or written (never 0 but for a handshake)
};

class Transport {
  public:
    virtual ~Transport() = default;
    // Moves the TLS handshake on: kOk once it is complete (at once for plain TCP),
    // kClosed when the client failed it.
    virtual IoResult handshake() = 0;
    virtual IoResult read(char* buffer, size_t size) = 0;
    virtual IoResult write(const char* data, size_t size) = 0;
    // Says goodbye (TLS close_notify) and shuts the socket's sending side.
    virtual void shutdown_write() = 0;
    // Set when the last call would block until the socket is writable (TLS reads and
    // handshakes can need to write); otherwise a call that would block waits to read.
    virtual bool blocked_on_write() const = 0;
};

std::unique_ptr<Transport> plain_transport(int fd);

// A certificate and key, shared by every TLS connection.
class TlsContext {
  public:
    // Errors name the option to fix (plugin_opt_http_tls_cert or _key).
    static Result<std::shared_ptr<TlsContext>> load(const std::string& cert_file,
                                                    const std::string& key_file);
    ~TlsContext();
    TlsContext(const TlsContext&) = delete;
    TlsContext& operator=(const TlsContext&) = delete;

    // A server-side TLS transport over `fd`, or nullptr when OpenSSL is out of memory.
    std::unique_ptr<Transport> wrap(int fd) const;

  private:
    explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
    SSL_CTX* ctx_;
};

}  // namespace culex
