// The embedded civetweb server that serves the Api. start() and stop() are called on
// the broker thread (plugin init and cleanup); requests run on civetweb's own worker
// threads, which never call broker functions.
#pragma once

#include <string>

#include "api.h"
#include "culex/log.h"
#include "culex/status.h"

struct mg_context;
struct mg_connection;

namespace culex {

struct HttpSettings {
    std::string listen;  // "host:port", IPv4 (Debian's civetweb has no IPv6)
    int threads = 16;
    std::string tls_cert;  // PEM certificate (chain); with tls_key, serve HTTPS
    std::string tls_key;
    size_t max_body_bytes = size_t{1} << 20;
};

class HttpServer {
  public:
    HttpServer(HttpSettings settings, Api& api, LogQueue& log);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Binds and starts the workers; the error names what failed (port taken, bad
    // certificate). Signals are blocked for civetweb's threads by the caller.
    Status start();
    // Finishes the requests in flight and stops. Idempotent.
    void stop();

    // Called by civetweb for each request (internal).
    int serve(mg_connection* conn);
    // Loads the certificate and key into civetweb's SSL_CTX (internal).
    int init_tls(void* ssl_ctx);

  private:
    const HttpSettings settings_;
    Api& api_;
    LogQueue& log_;
    mg_context* ctx_ = nullptr;
    std::string tls_error_;
};

}  // namespace culex
