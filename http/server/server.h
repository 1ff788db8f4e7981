// The embedded HTTP server: civetweb on a private loopback port behind the front end
// (frontend.h), which holds the clients' connections and hands civetweb only complete
// requests. civetweb reads each request into a Request, hands it to the handler
// (http/routes/api.h's Api::handle in the plugin) and writes the Response; a HEAD request
// gets the GET's status and headers without the body, and answers to origins the CORS
// policy allows carry its headers. start() and stop() are called on the broker thread
// (plugin init and cleanup); the handler runs on civetweb's own worker threads,
// concurrently, and must not throw.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/status.h"
#include "cors.h"
#include "frontend.h"
#include "http_types.h"

struct mg_context;
struct mg_connection;

namespace culex {

struct HttpSettings {
    std::string listen;  // "host:port", IPv4 (Debian's civetweb has no IPv6)
    int threads = 16;
    std::string tls_cert;  // PEM certificate (chain); with tls_key, serve HTTPS
    std::string tls_key;
    size_t max_body_bytes = size_t{1} << 20;
    std::chrono::milliseconds head_timeout{10000};
    int max_connections = 1024;
    int max_connections_per_client = 32;
    std::vector<std::string> cors_origins;  // see cors.h
    WorkerPriority priority;                // of the workers and the front end
};

using RequestHandler = std::function<Response(Request&)>;

class HttpServer {
  public:
    HttpServer(HttpSettings settings, RequestHandler handler, LogQueue& log);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Binds and starts the workers and the front end; the error names what failed (port
    // taken, bad certificate). The caller blocks signals so that the new threads inherit
    // the mask.
    Status start();
    // Finishes the requests in flight and stops. Idempotent.
    void stop();

    // Called by civetweb for each request (internal).
    int serve(mg_connection* conn);
    // Called by civetweb on each of its threads as it starts (internal).
    void thread_started();

  private:
    const HttpSettings settings_;
    const RequestHandler handler_;
    const CorsPolicy cors_;
    LogQueue& log_;
    mg_context* ctx_ = nullptr;
    std::unique_ptr<HttpFrontend> frontend_;
};

}  // namespace culex
