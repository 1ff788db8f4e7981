// The front end's connections to civetweb (proxy_connection.h). A connection whose last
// answer was complete and kept alive may wait here, idle, for the next request from any
// client, because a fresh loopback connection per request (connect, civetweb's accept and
// hand-over to a worker, close) costs a fifth of the API's read throughput. An idle one
// holds a civetweb worker, so at most `max_idle` wait, each for at most `max_idle_time`,
// far below civetweb's own keep-alive timeout so that civetweb never closes one under us.
// Idle sockets are in no epoll set. Event-loop thread only.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>

namespace culex {

class BackendPool {
  public:
    using Clock = std::chrono::steady_clock;

    BackendPool(int port, size_t max_idle, Clock::duration max_idle_time)
        : port_(port), max_idle_(max_idle), max_idle_time_(max_idle_time) {}
    ~BackendPool();
    BackendPool(const BackendPool&) = delete;
    BackendPool& operator=(const BackendPool&) = delete;

    // A non-blocking socket to civetweb, connected or connecting, owned by the caller;
    // -1 when none can be opened.
    int acquire();
    // Takes back a socket that the caller has removed from its epoll set, after an answer
    // that civetweb kept alive; closes it when the pool is full.
    void release(int fd, Clock::time_point now);
    // Closes the sockets idle too long.
    void expire(Clock::time_point now);
    // Closes every idle socket.
    void clear();

  private:
    struct Idle {
        int fd;
        Clock::time_point since;
    };
    const int port_;
    const size_t max_idle_;
    const Clock::duration max_idle_time_;
    std::deque<Idle> idle_;  // oldest first
};

}  // namespace culex
