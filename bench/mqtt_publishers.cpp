#include "mqtt_publishers.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

namespace bench {
namespace {

using Clock = std::chrono::steady_clock;

// QoS 1 messages a connection may have unacknowledged. Packet ids run through 1..64512
// (63 x 1024), so that id - 1 and the message's number agree modulo this window.
constexpr long kMaxInflight = 1024;
constexpr long kPacketIds = 63 * kMaxInflight;
// A connection's buffer is filled up to this before it is written.
constexpr size_t kMaxOut = 256 * 1024;

void put_length(std::string& out, size_t n) {
    do {
        char byte = static_cast<char>(n % 128);
        n /= 128;
        if (n > 0)
            byte = static_cast<char>(byte | 0x80);
        out.push_back(byte);
    } while (n > 0);
}

void put_string(std::string& out, const std::string& s) {
    out.push_back(static_cast<char>(s.size() >> 8));
    out.push_back(static_cast<char>(s.size() & 0xff));
    out += s;
}

void put_publish(std::string& out, const std::string& topic, const std::string& payload, int qos,
                 uint16_t packet_id) {
    out.push_back(static_cast<char>(0x30 | (qos << 1)));
    put_length(out, 2 + topic.size() + (qos > 0 ? 2 : 0) + payload.size());
    put_string(out, topic);
    if (qos > 0) {
        out.push_back(static_cast<char>(packet_id >> 8));
        out.push_back(static_cast<char>(packet_id & 0xff));
    }
    out += payload;
}

struct Connection {
    int index = 0;
    int fd = -1;
    std::string out;
    size_t written = 0;    // of out
    bool blocked = false;  // waiting for EPOLLOUT
    std::string in;
    long next = 0;   // the next message's number
    long acked = 0;  // QoS 1 messages, in order
    bool fence_sent = false;
    uint16_t fence_id = 0;
    bool done = false;  // fence acknowledged, or the connection lost
    std::vector<Clock::time_point> sent_at = std::vector<Clock::time_point>(kMaxInflight);
};

// One epoll loop over its connections.
class Loop {
  public:
    Loop(const PublishPlan& plan, std::vector<Connection*> connections)
        : plan_(plan), connections_(std::move(connections)), epoll_(epoll_create1(0)) {
        for (Connection* c : connections_) {
            epoll_event ev{};
            ev.events = EPOLLIN;
            ev.data.ptr = c;
            epoll_ctl(epoll_, EPOLL_CTL_ADD, c->fd, &ev);
        }
    }
    ~Loop() { close(epoll_); }

    void run(Clock::time_point t0, const std::atomic<bool>& stop) {
        std::vector<epoll_event> events(256);
        size_t open = connections_.size();
        while (open > 0 && !stop) {
            const Clock::time_point now = Clock::now();
            const double scheduled =
                std::chrono::duration<double>(now - t0).count() * plan_.rate_per_connection;
            bool more_now = false;
            for (Connection* c : connections_) {
                if (c->done)
                    continue;
                const long until = due(*c, scheduled);
                fill(*c, until, now);
                flush(*c);
                more_now = more_now || can_fill(*c, until);
            }
            // A tick of 1 ms paces the rated connections (a few messages each per tick at
            // thousands per second); at the full rate only the sockets hold the loop back.
            const int n = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()),
                                     more_now ? 0 : 1);
            const Clock::time_point seen = Clock::now();
            for (int i = 0; i < n; ++i) {
                auto* c = static_cast<Connection*>(events[i].data.ptr);
                if (c->done)
                    continue;
                if (events[i].events & EPOLLOUT) {
                    c->blocked = false;
                    flush(*c);
                }
                if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                    receive(*c, seen);
            }
            open = static_cast<size_t>(std::count_if(connections_.begin(), connections_.end(),
                                                     [](Connection* c) { return !c->done; }));
        }
    }

    std::vector<double> puback_ms;
    int lost = 0;
    Clock::time_point last_fence{};

  private:
    // How many of its messages connection `c` should have sent when `scheduled` messages
    // per connection are due. Connections are spread over the interval between two
    // messages, so that 10,000 connections at 1 msg/s do not all send at the same moment.
    long due(const Connection& c, double scheduled) const {
        if (plan_.rate_per_connection <= 0)
            return plan_.messages_per_connection;
        const double phase =
            static_cast<double>(c.index) / static_cast<double>(std::max(1, plan_.connections));
        return std::min(plan_.messages_per_connection, static_cast<long>(scheduled + 1 - phase));
    }

    bool can_fill(const Connection& c, long until) const {
        if (c.blocked || c.out.size() - c.written >= kMaxOut)
            return false;
        if (c.next >= plan_.messages_per_connection)
            return !c.fence_sent && c.acked + kMaxInflight > c.next;
        return c.next < until && (plan_.qos == 0 || c.next - c.acked < kMaxInflight);
    }

    void fill(Connection& c, long until, Clock::time_point now) {
        while (c.next < until && c.out.size() - c.written < kMaxOut &&
               (plan_.qos == 0 || c.next - c.acked < kMaxInflight)) {
            plan_.message(c.index, c.next, topic_, payload_);
            const auto id = static_cast<uint16_t>(c.next % kPacketIds + 1);
            put_publish(c.out, topic_, payload_, plan_.qos, id);
            if (plan_.qos > 0)
                c.sent_at[static_cast<size_t>(c.next % kMaxInflight)] = now;
            ++c.next;
        }
        if (c.next == plan_.messages_per_connection && !c.fence_sent &&
            (plan_.qos == 0 || c.next - c.acked < kMaxInflight)) {
            c.fence_id = static_cast<uint16_t>(c.next % kPacketIds + 1);
            put_publish(c.out, plan_.fence_topic, "fence", 1, c.fence_id);
            c.fence_sent = true;
        }
    }

    void flush(Connection& c) {
        while (!c.blocked && c.written < c.out.size()) {
            const ssize_t n =
                send(c.fd, c.out.data() + c.written, c.out.size() - c.written, MSG_NOSIGNAL);
            if (n > 0) {
                c.written += static_cast<size_t>(n);
            } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                c.blocked = true;
                watch_output(c, true);
            } else if (n < 0 && errno != EINTR) {
                lose(c);
                return;
            }
        }
        if (c.written == c.out.size()) {
            c.out.clear();
            c.written = 0;
            watch_output(c, false);
        }
    }

    void watch_output(Connection& c, bool on) {
        epoll_event ev{};
        ev.events = on ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
        ev.data.ptr = &c;
        epoll_ctl(epoll_, EPOLL_CTL_MOD, c.fd, &ev);
    }

    void receive(Connection& c, Clock::time_point now) {
        char buf[65536];
        while (true) {
            const ssize_t n = recv(c.fd, buf, sizeof buf, 0);
            if (n > 0) {
                c.in.append(buf, static_cast<size_t>(n));
                continue;
            }
            if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
                lose(c);
                return;
            }
            if (errno != EINTR)
                break;
        }
        // The broker sends this publisher PUBACKs only (4 bytes: 0x40 0x02 id).
        size_t at = 0;
        while (c.in.size() - at >= 4) {
            const auto id = static_cast<uint16_t>((static_cast<unsigned char>(c.in[at + 2]) << 8) |
                                                  static_cast<unsigned char>(c.in[at + 3]));
            at += 4;
            if (c.fence_sent && id == c.fence_id) {
                c.done = true;
                last_fence = std::max(last_fence, now);
                break;
            }
            const Clock::time_point sent = c.sent_at[static_cast<size_t>((id - 1) % kMaxInflight)];
            puback_ms.push_back(std::chrono::duration<double, std::milli>(now - sent).count());
            ++c.acked;
        }
        c.in.erase(0, at);
    }

    void lose(Connection& c) {
        c.done = true;
        ++lost;
    }

    const PublishPlan& plan_;
    std::vector<Connection*> connections_;
    int epoll_;
    std::string topic_;
    std::string payload_;
};

int open_socket(int port) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

}  // namespace

bool connect_publishers(const PublishPlan& plan, std::vector<int>& sockets, std::string& error) {
    // At most this many handshakes at once, so that the broker's listen backlog holds them.
    constexpr size_t kAtOnce = 200;
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    sockets.clear();
    for (int first = 0; first < plan.connections; first += static_cast<int>(kAtOnce)) {
        const int last = std::min(plan.connections, first + static_cast<int>(kAtOnce));
        std::vector<pollfd> waiting;
        std::vector<std::string> replies(static_cast<size_t>(last - first));
        for (int i = first; i < last; ++i) {
            const int fd = open_socket(plan.port);
            if (fd < 0) {
                error = std::string("cannot connect to 127.0.0.1:") + std::to_string(plan.port) +
                        ": " + std::strerror(errno);
                return false;
            }
            sockets.push_back(fd);
            waiting.push_back({fd, POLLOUT, 0});
        }
        // Written when the TCP connection is up; CONNACK is 0x20 0x02 flags rc.
        std::vector<bool> sent(waiting.size(), false);
        size_t answered = 0;
        while (answered < waiting.size()) {
            if (Clock::now() >= deadline) {
                error = "no CONNACK within 60 s";
                return false;
            }
            poll(waiting.data(), waiting.size(), 100);
            for (size_t k = 0; k < waiting.size(); ++k) {
                pollfd& p = waiting[k];
                if (p.fd < 0 || p.revents == 0)
                    continue;
                if (!sent[k] && (p.revents & POLLOUT)) {
                    std::string connect_packet;
                    std::string body;
                    put_string(body, "MQTT");
                    body += std::string("\x04\x02\x00\x00", 4);  // 3.1.1, clean, no keepalive
                    put_string(body,
                               plan.client_prefix + std::to_string(first + static_cast<int>(k)));
                    connect_packet.push_back(0x10);
                    put_length(connect_packet, body.size());
                    connect_packet += body;
                    if (send(p.fd, connect_packet.data(), connect_packet.size(), MSG_NOSIGNAL) !=
                        static_cast<ssize_t>(connect_packet.size())) {
                        error = std::string("cannot send CONNECT: ") + std::strerror(errno);
                        return false;
                    }
                    sent[k] = true;
                    p.events = POLLIN;
                } else if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
                    char buf[4];
                    const ssize_t n = recv(p.fd, buf, sizeof buf, 0);
                    if (n < 0 && errno == EAGAIN)
                        continue;
                    std::string& reply = replies[k];
                    if (n > 0)
                        reply.append(buf, static_cast<size_t>(n));
                    if (n <= 0 || (reply.size() >= 4 && (reply[0] != 0x20 || reply[3] != 0))) {
                        error = "the broker refused or closed connection " +
                                std::to_string(first + static_cast<int>(k));
                        return false;
                    }
                    if (reply.size() >= 4) {
                        p.fd = -1;
                        ++answered;
                    }
                }
            }
        }
    }
    return true;
}

PublishResults run_publishers(const PublishPlan& plan, std::vector<int>& sockets,
                              const std::atomic<bool>& stop) {
    std::vector<Connection> connections(sockets.size());
    for (size_t i = 0; i < sockets.size(); ++i) {
        connections[i].index = static_cast<int>(i);
        connections[i].fd = sockets[i];
    }
    const int threads = std::max(1, std::min(plan.threads, plan.connections));
    std::vector<std::unique_ptr<Loop>> loops;
    for (int t = 0; t < threads; ++t) {
        std::vector<Connection*> mine;
        for (size_t i = static_cast<size_t>(t); i < connections.size();
             i += static_cast<size_t>(threads))
            mine.push_back(&connections[i]);
        loops.push_back(std::make_unique<Loop>(plan, std::move(mine)));
    }
    PublishResults results;
    results.started = Clock::now();
    std::vector<std::thread> running;
    for (auto& loop : loops)
        running.emplace_back([&, l = loop.get()] { l->run(results.started, stop); });
    for (auto& t : running)
        t.join();
    for (auto& loop : loops) {
        results.puback_ms.insert(results.puback_ms.end(), loop->puback_ms.begin(),
                                 loop->puback_ms.end());
        results.lost_connections += loop->lost;
        results.finished = std::max(results.finished, loop->last_fence);
    }
    for (const Connection& c : connections) {
        results.acked.push_back(c.acked);
        close(c.fd);
    }
    sockets.clear();
    return results;
}

}  // namespace bench
