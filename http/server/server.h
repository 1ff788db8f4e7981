// The embedded civetweb server: it reads each request into a Request, hands it to the
// handler (http/routes/api.h's Api::handle in the plugin) and writes the Response.
// start() and stop() are called on the broker thread (plugin init and cleanup); the
// handler runs on civetweb's own worker threads, concurrently, and must not throw.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/log.h"
#include "common/status.h"
#include "http_types.h"
#include "tls_frontend.h"

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

using RequestHandler = std::function<Response(Request&)>;

class HttpServer {
  public:
    HttpServer(HttpSettings settings, RequestHandler handler, LogQueue& log);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Binds and starts the workers (and the TLS front end when a certificate is set); the
    // error names what failed (port taken, bad certificate). The caller blocks signals
    // so that the new threads inherit the mask.
    Status start();
    // Finishes the requests in flight and stops. Idempotent.
    void stop();

    // Called by civetweb for each request (internal).
    int serve(mg_connection* conn);

  private:
    const HttpSettings settings_;
    const RequestHandler handler_;
    LogQueue& log_;
    mg_context* ctx_ = nullptr;
    std::unique_ptr<TlsFrontend> tls_;
};

}  // namespace culex
