#include "server.h"

#include <civetweb.h>

#include <algorithm>
#include <exception>

#include "problem.h"

namespace culex {
namespace {

int on_begin_request(mg_connection* conn) {
    auto* server = static_cast<HttpServer*>(mg_get_request_info(conn)->user_data);
    return server->serve(conn);
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

void send_stream(mg_connection* conn, const Response& r) {
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
    r.stream([conn](std::string_view bytes) {
        return bytes.empty() || mg_write(conn, bytes.data(), bytes.size()) > 0;
    });
}

void send(mg_connection* conn, const Response& r) {
    if (r.stream) {
        send_stream(conn, r);
        return;
    }
    mg_response_header_start(conn, r.status);
    if (!r.content_type.empty())
        mg_response_header_add(conn, "Content-Type", r.content_type.c_str(), -1);
    const std::string length = std::to_string(r.body.size());
    mg_response_header_add(conn, "Content-Length", length.c_str(), -1);
    mg_response_header_add(conn, "Cache-Control", "no-store", -1);
    mg_response_header_add(conn, "X-Content-Type-Options", "nosniff", -1);
    for (const auto& [name, value] : r.headers)
        mg_response_header_add(conn, name.c_str(), value.c_str(), -1);
    mg_response_header_send(conn);
    if (!r.body.empty())
        mg_write(conn, r.body.data(), r.body.size());
}

}  // namespace

HttpServer::HttpServer(HttpSettings settings, RequestHandler handler, LogQueue& log)
    : settings_(std::move(settings)), handler_(std::move(handler)), log_(log) {}

HttpServer::~HttpServer() {
    stop();
}

Status HttpServer::start() {
    const bool tls = !settings_.tls_cert.empty();
    mg_init_library(0);
    // With TLS, civetweb serves plain HTTP on a private loopback port behind the
    // TlsFrontend (see tls_frontend.h for why).
    const std::string ports = tls ? "127.0.0.1:0" : settings_.listen;
    const std::string threads = std::to_string(settings_.threads);
    // decode_url=no: the router decodes each path segment itself, so an encoded '/'
    // (%2F) stays inside its segment.
    const char* options[] = {"listening_ports",
                             ports.c_str(),
                             "num_threads",
                             threads.c_str(),
                             "request_timeout_ms",
                             "30000",
                             "enable_keep_alive",
                             "yes",
                             "keep_alive_timeout_ms",
                             "15000",
                             "decode_url",
                             "no",
                             "tcp_nodelay",
                             "1",
                             nullptr};
    mg_callbacks callbacks{};
    callbacks.begin_request = on_begin_request;
    callbacks.log_message = on_log_message;
    char error_text[256] = {};
    unsigned error_code = 0;
    mg_error_data error{&error_code, error_text, sizeof error_text};
    mg_init_data init{&callbacks, this, options};
    ctx_ = mg_start2(&init, &error);
    if (ctx_ == nullptr) {
        mg_exit_library();
        return Status::error("plugin_opt_http_listen: cannot serve HTTP on " + ports + ": " +
                             error_text);
    }
    if (tls) {
        mg_server_port bound[1] = {};
        if (mg_get_server_ports(ctx_, 1, bound) != 1) {
            stop();
            return Status::error("plugin_opt_http_listen: civetweb reports no listening port");
        }
        tls_ = std::make_unique<TlsFrontend>(settings_.listen, settings_.tls_cert,
                                             settings_.tls_key, bound[0].port, settings_.threads);
        Status started = tls_->start();
        if (!started.is_ok()) {
            stop();
            return started;
        }
    }
    log_.printf(LogLevel::kNotice, "culex: HTTP API on %s://%s/api/v1 (%d threads).",
                tls ? "https" : "http", settings_.listen.c_str(), settings_.threads);
    return Status::ok();
}

void HttpServer::stop() {
    if (tls_) {
        tls_->stop();
        tls_.reset();
    }
    if (ctx_ == nullptr)
        return;
    mg_stop(ctx_);
    ctx_ = nullptr;
    mg_exit_library();
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
    Response response;
    try {
        const long long length = info->content_length;
        if (length > static_cast<long long>(settings_.max_body_bytes)) {
            response = problem(413, "the request body is larger than " +
                                        std::to_string(settings_.max_body_bytes) + " bytes");
            response.headers.emplace_back("Connection", "close");
            send(conn, response);
            return response.status;
        }
        // Chunked bodies have no length: read one byte past the limit to detect excess,
        // growing the buffer as bytes arrive (most requests have no body at all).
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
        if (got > settings_.max_body_bytes) {
            response = problem(413, "the request body is larger than " +
                                        std::to_string(settings_.max_body_bytes) + " bytes");
            response.headers.emplace_back("Connection", "close");
        } else if (length >= 0 && got < want) {
            response = problem(400, "the request body ended before Content-Length bytes");
            response.headers.emplace_back("Connection", "close");
        } else {
            response = handler_(request);
        }
    } catch (const std::exception&) {
        response = problem(503, "the server is out of memory; try again later");
    }
    send(conn, response);
    return response.status;
}

}  // namespace culex
