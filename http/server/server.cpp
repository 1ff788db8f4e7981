#include "server.h"

#include <civetweb.h>

#include <algorithm>
#include <exception>

#include "common/worker_thread.h"
#include "problem.h"

namespace culex {
namespace {

int on_begin_request(mg_connection* conn) {
    auto* server = static_cast<HttpServer*>(mg_get_request_info(conn)->user_data);
    return server->serve(conn);
}

void* on_init_thread(const mg_context* ctx, int /*thread_type*/) {
    static_cast<HttpServer*>(mg_get_user_data(ctx))->thread_started();
    return nullptr;
}

int on_log_message(const mg_connection*, const char*) {
    // civetweb's own complaints (a client that hung up, a malformed request line) are
    // per-connection noise; start-up errors come back through mg_start2.
    return 1;
}

const char* header(mg_connection* conn, const char* name) {
    const char* value = mg_get_header(conn, name);
    return value != nullptr ? value : "";
}

void send_stream(mg_connection* conn, const Response& r, bool head_only) {
    mg_response_header_start(conn, r.status);
    mg_response_header_add(conn, "Content-Type", r.content_type.c_str(), -1);
    mg_response_header_add(conn, "Cache-Control", "no-store", -1);
    // Proxies must pass events on as they come.
    mg_response_header_add(conn, "X-Accel-Buffering", "no", -1);
    // The body has no length, so only closing the connection can end it.
    mg_response_header_add(conn, "Connection", "close", -1);
    for (const auto& [name, value] : r.headers)
        mg_response_header_add(conn, name.c_str(), value.c_str(), -1);
    mg_response_header_send(conn);
    if (head_only)
        return;
    r.stream([conn](std::string_view bytes) {
        return bytes.empty() || mg_write(conn, bytes.data(), bytes.size()) > 0;
    });
}

// The front end (proxy_connection.h) relies on this framing: a Content-Length on every
// answer but a 204 or a stream, which has none and closes the connection.
void send(mg_connection* conn, const Response& r, bool head_only) {
    if (r.stream) {
        send_stream(conn, r, head_only);
        return;
    }
    mg_response_header_start(conn, r.status);
    if (!r.content_type.empty())
        mg_response_header_add(conn, "Content-Type", r.content_type.c_str(), -1);
    const std::string length = std::to_string(r.body.size());
    if (r.status != 204)  // which has no body, and says nothing of one (RFC 9110 §8.6)
        mg_response_header_add(conn, "Content-Length", length.c_str(), -1);
    mg_response_header_add(conn, "Cache-Control", "no-store", -1);
    mg_response_header_add(conn, "X-Content-Type-Options", "nosniff", -1);
    for (const auto& [name, value] : r.headers)
        mg_response_header_add(conn, name.c_str(), value.c_str(), -1);
    mg_response_header_send(conn);
    if (!r.body.empty() && !head_only)
        mg_write(conn, r.body.data(), r.body.size());
}

}  // namespace

HttpServer::HttpServer(HttpSettings settings, RequestHandler handler, LogQueue& log)
    : settings_(std::move(settings)),
      handler_(std::move(handler)),
      cors_(settings_.cors_origins),
      log_(log) {}

HttpServer::~HttpServer() {
    stop();
}

Status HttpServer::start() {
    const bool tls = !settings_.tls_cert.empty();
    mg_init_library(0);
    const std::string threads = std::to_string(settings_.threads);
    const std::string backlog = std::to_string(settings_.max_connections);
    // civetweb's keep-alive serves the front end's few spare connections (backend_pool.h),
    // which it closes long before keep_alive_timeout_ms, and its Connection header tells
    // the front end whether the client's connection may stay open. Its buffer must hold
    // any head the front end lets through. decode_url=no: the router decodes each path
    // segment itself, so an encoded '/' (%2F) stays inside its segment.
    static_assert(kMaxRequestHead < 32768);
    const char* options[] = {"listening_ports",
                             "127.0.0.1:0",
                             "num_threads",
                             threads.c_str(),
                             "listen_backlog",
                             backlog.c_str(),
                             "max_request_size",
                             "32768",
                             "request_timeout_ms",
                             "30000",
                             "enable_keep_alive",
                             "yes",
                             "keep_alive_timeout_ms",
                             "30000",
                             "decode_url",
                             "no",
                             "tcp_nodelay",
                             "1",
                             nullptr};
    mg_callbacks callbacks{};
    callbacks.begin_request = on_begin_request;
    callbacks.log_message = on_log_message;
    callbacks.init_thread = on_init_thread;
    char error_text[256] = {};
    unsigned error_code = 0;
    mg_error_data error{&error_code, error_text, sizeof error_text};
    mg_init_data init{&callbacks, this, options};
    ctx_ = mg_start2(&init, &error);
    if (ctx_ == nullptr) {
        mg_exit_library();
        return Status::error(std::string("plugin_opt_http_listen: cannot start civetweb: ") +
                             error_text);
    }
    mg_server_port bound[1] = {};
    if (mg_get_server_ports(ctx_, 1, bound) != 1) {
        stop();
        return Status::error("plugin_opt_http_listen: civetweb reports no listening port");
    }
    FrontendSettings front;
    front.listen = settings_.listen;
    front.tls_cert = settings_.tls_cert;
    front.tls_key = settings_.tls_key;
    front.backend_port = bound[0].port;
    front.backend_spare = static_cast<size_t>(std::max(1, settings_.threads / 4));
    front.max_connections = settings_.max_connections;
    front.max_connections_per_client = settings_.max_connections_per_client;
    front.head_timeout = settings_.head_timeout;
    front.max_body_bytes = settings_.max_body_bytes;
    front.priority = settings_.priority;
    frontend_ = std::make_unique<HttpFrontend>(std::move(front), log_);
    Status started = frontend_->start();
    if (!started.is_ok()) {
        stop();
        return started;
    }
    log_.printf(LogLevel::kNotice, "culex: HTTP API on %s://%s/api/v1 (%d threads).",
                tls ? "https" : "http", settings_.listen.c_str(), settings_.threads);
    return Status::ok();
}

void HttpServer::stop() {
    if (frontend_) {
        frontend_->stop();
        frontend_.reset();
    }
    if (ctx_ == nullptr)
        return;
    mg_stop(ctx_);
    ctx_ = nullptr;
    mg_exit_library();
}

void HttpServer::thread_started() {
    enter_worker_thread("culex-http", settings_.priority, log_);
}

int HttpServer::serve(mg_connection* conn) {
    const mg_request_info* info = mg_get_request_info(conn);
    Request request;
    request.method = info->request_method != nullptr ? info->request_method : "";
    request.path = info->local_uri_raw != nullptr ? info->local_uri_raw : "";
    request.query = info->query_string != nullptr ? info->query_string : "";
    request.authorization = header(conn, "Authorization");
    request.content_type = header(conn, "Content-Type");
    request.last_event_id = header(conn, "Last-Event-ID");
    const std::string_view origin = header(conn, "Origin");
    const bool preflight =
        request.method == "OPTIONS" && *header(conn, "Access-Control-Request-Method") != '\0';
    const bool head_only = request.method == "HEAD";
    Response response;
    try {
        // The front end has read the whole body and kept it within max_body_bytes.
        const long long length = info->content_length;
        const size_t want =
            length >= 0 ? static_cast<size_t>(length) : settings_.max_body_bytes + 1;
        size_t got = 0;
        while (got < want) {
            request.body.resize(std::min(want, std::max<size_t>(got * 2, got + 16384)));
            const int n = mg_read(conn, request.body.data() + got, request.body.size() - got);
            if (n <= 0)
                break;
            got += static_cast<size_t>(n);
        }
        request.body.resize(got);
        if (got > settings_.max_body_bytes || (length >= 0 && got < want)) {
            response = problem(400, "the request body could not be read whole");
            response.headers.emplace_back("Connection", "close");
        } else {
            response = handler_(request);
        }
        cors_.apply(origin, preflight, response);
    } catch (const std::exception&) {
        response = problem(503, "the server is out of memory; try again later");
    }
    send(conn, response, head_only);
    return response.status;
}

}  // namespace culex
