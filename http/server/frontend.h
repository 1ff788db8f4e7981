// The front end of the HTTP server, plain or TLS: it accepts on the configured address
// and relays each complete request to civetweb on a private loopback port (one
// ProxyConnection per client, proxy_connection.h). It exists because civetweb gives each
// connection a worker thread for the connection's whole life and restarts its request
// timeout with every byte: 16 clients dribbling a request head, or sitting idle between
// kept-alive requests, would take the API away. Here a client holds a worker only while
// its complete request is being answered (besides, a quarter of the workers at most wait
// on idle spare connections for the next request, backend_pool.h).
//
// Limits: at most max_connections in all and max_connections_per_client per IPv4 address;
// a client over a limit is answered 429 (its address) or 503 (the server) problem+json and
// closed. The request head must arrive within head_timeout of the connection's start or
// of the previous answer (else 408, or a silent close when nothing was sent), the body
// within head_timeout after the head, and a client must take some of its answer at least
// every head_timeout.
//
// start() and stop() run on the broker thread; one event-loop thread does the rest and
// never calls broker functions.
#pragma once

#include <atomic>
#include <memory>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/log.h"
#include "common/status.h"
#include "connection_limits.h"
#include "proxy_connection.h"

namespace culex {

class HttpFrontend {
  public:
    // `log` must outlive the front end.
    HttpFrontend(FrontendSettings settings, LogQueue& log);
    ~HttpFrontend();
    HttpFrontend(const HttpFrontend&) = delete;
    HttpFrontend& operator=(const HttpFrontend&) = delete;

    // Loads the certificate and key (with TLS) and binds; errors name the option to fix.
    Status start();
    // Closes the listener and every connection, and joins the thread. Idempotent.
    void stop();

  private:
    void run();
    void accept_ready(ProxyConnection::Clock::time_point now);
    void admit(int fd, uint32_t address, ProxyConnection::Clock::time_point now);
    void set_accepting(bool on);

    const FrontendSettings settings_;
    LogQueue& log_;
    std::shared_ptr<TlsContext> tls_;
    int listen_fd_ = -1;
    int epoll_fd_ = -1;
    int wake_fd_ = -1;
    std::atomic<bool> stopping_{false};
    std::thread thread_;

    // Event-loop thread only.
    struct Held {
        std::unique_ptr<ProxyConnection> connection;
        uint32_t address;
        bool counted;  // in limits_, else one of the refusals
    };
    ConnectionLimits limits_;
    BackendPool backends_;
    int refusing_ = 0;
    std::unordered_map<ProxyConnection*, Held> connections_;
    std::vector<ProxyConnection*> finished_;  // to destroy after the current batch
    bool accepting_ = true;
    ProxyConnection::Clock::time_point accept_again_;
};

}  // namespace culex
