// A TCP proxy in front of PostgreSQL that can lose the server's answer to a COPY:
// armed, it forwards the client's CopyDone, waits until the server has answered (the
// COPY has then committed) and closes both sides without passing the answer on. That
// is the "commit outcome unknown" case the writer must resolve without duplicates.
// Clients must connect with sslmode=disable and gssencmode=disable so the stream is
// plain protocol. Test-thread API; the proxy runs its own thread.
#pragma once

#include <atomic>
#include <thread>

namespace culex::test {

class PgCutProxy {
  public:
    explicit PgCutProxy(int server_port);
    ~PgCutProxy();
    PgCutProxy(const PgCutProxy&) = delete;
    PgCutProxy& operator=(const PgCutProxy&) = delete;

    int port() const { return port_; }
    // The next COPY's answer is lost, once.
    void arm() { armed_ = true; }
    bool cut_done() const { return cut_done_; }

  private:
    void accept_loop();
    void relay(int client, int server);

    int server_port_;
    int port_ = 0;
    int listen_fd_ = -1;
    std::atomic<bool> stopping_{false};
    std::atomic<bool> armed_{false};
    std::atomic<bool> cut_done_{false};
    std::thread thread_;
};

}  // namespace culex::test
