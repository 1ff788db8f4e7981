// One client connection of the front end (frontend.h): it reads a whole request (head
// and body, each within the head timeout) into memory, and only then opens a connection
// to civetweb (backend_pool.h), sends the request, takes the response as fast as civetweb
// writes it, and gives that backend connection up once the response is complete, so
// that a civetweb worker is never held by a client that dribbles its request, idles
// between kept-alive requests, or reads slowly. A response without a length (the live stream) is
// relayed as it comes, with the backend read paused while the client lags.
//
// Owned by the front end and driven by its event loop thread only: on_event() for
// readiness of its sockets (registered in the loop's epoll set, data.ptr pointing to an
// Endpoint), on_tick() for deadlines. Once finished() it has closed its sockets and
// waits to be destroyed; events that still arrive for it are ignored.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "backend_pool.h"
#include "common/config.h"
#include "http_framing.h"
#include "transport.h"

namespace culex {

struct FrontendSettings {
    std::string listen;    // "IPv4:port"
    std::string tls_cert;  // with tls_key: HTTPS
    std::string tls_key;
    int backend_port = 0;      // civetweb on 127.0.0.1
    size_t backend_spare = 4;  // kept-alive connections to civetweb that may wait idle
    int max_connections = 1024;
    int max_connections_per_client = 32;
    std::chrono::milliseconds head_timeout{10000};
    size_t max_body_bytes = size_t{1} << 20;
    WorkerPriority priority;  // of the event-loop thread
};

// Longest request head accepted (request line and headers); longer ones get 431.
inline constexpr size_t kMaxRequestHead = 16384;

// A complete HTTP/1.1 answer: problem+json of `status` (Retry-After with 429 and 503),
// then Connection: close. For what the front end answers itself.
std::string closing_answer(int status, const std::string& detail);

class ProxyConnection;

// What an epoll event's data.ptr points to.
struct Endpoint {
    ProxyConnection* connection;
    bool backend;
};

class ProxyConnection {
  public:
    using Clock = std::chrono::steady_clock;

    // Takes ownership of `fd` (non-blocking). A non-empty `refusal` is a complete answer
    // to send once the TLS handshake is done, after which the connection closes.
    ProxyConnection(int epoll_fd, const FrontendSettings& settings, BackendPool& backends, int fd,
                    std::unique_ptr<Transport> transport, std::string refusal,
                    Clock::time_point now);
    ~ProxyConnection();
    ProxyConnection(const ProxyConnection&) = delete;
    ProxyConnection& operator=(const ProxyConnection&) = delete;

    // Registers the socket and takes the first steps.
    void start(Clock::time_point now);
    void on_event(bool backend, uint32_t events, Clock::time_point now);
    void on_tick(Clock::time_point now);
    bool finished() const { return phase_ == Phase::kDone; }

  private:
    enum class Phase { kHandshake, kRequest, kExchange, kClosing, kDone };

    void advance(Clock::time_point now);
    void handshake();
    void read_request(Clock::time_point now);
    void take_request(Clock::time_point now);
    void start_exchange(size_t request_end, Clock::time_point now);
    void exchange(Clock::time_point now);
    void take_response(const char* data, size_t size, Clock::time_point now);
    void take_response_body(const char* data, size_t size, Clock::time_point now);
    void response_complete(Clock::time_point now);
    void backend_failed();
    void closing(Clock::time_point now);
    void flush(Clock::time_point now);
    // Answers with a problem+json of `status` and closes after it.
    void refuse(int status, const std::string& detail, Clock::time_point now);
    void append_out(std::string_view bytes, Clock::time_point now);
    void close_backend();
    void finish();
    void update_interest();
    // Changes what epoll reports for `fd` to `events` unless `registered` says it already is.
    void watch(int fd, Endpoint& endpoint, uint32_t events, uint32_t& registered);
    bool out_pending() const { return out_pos_ < out_.size(); }

    const int epoll_fd_;
    const FrontendSettings& settings_;
    BackendPool& backends_;
    const int fd_;
    const std::unique_ptr<Transport> transport_;
    std::string refusal_;
    Phase phase_ = Phase::kHandshake;
    Endpoint client_endpoint_{this, false};
    Endpoint backend_endpoint_{this, true};
    uint32_t client_events_ = 0;  // as registered with epoll
    uint32_t backend_events_ = 0;

    // Deadline of the handshake, the request head, its body, or the goodbye (kClosing
    // after the last byte went out).
    Clock::time_point deadline_;
    // While output waits: the client must take some of it before this.
    Clock::time_point write_deadline_;
    bool client_eof_ = false;
    bool shut_ = false;  // kClosing: our sending side is shut, the rest is discarded

    std::string in_;  // request bytes not yet sent on
    bool head_done_ = false;
    RequestHead head_;
    ChunkedReader request_chunks_;
    size_t chunks_fed_ = 0;  // bytes of in_ the chunked reader has seen
    std::string out_;        // bytes for the client
    size_t out_pos_ = 0;

    int backend_fd_ = -1;
    std::string to_backend_;
    size_t to_backend_pos_ = 0;
    bool to_head_ = false;       // the exchange answers a HEAD request
    bool keep_alive_ = false;    // the client asked to keep the connection
    std::string response_head_;  // bytes of the response head, until it is complete
    bool response_started_ = false;
    ResponseHead response_;
    uint64_t response_left_ = 0;
    ChunkedReader response_chunks_;
};

}  // namespace culex
