#include "frontend.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <vector>

#include "common/worker_thread.h"

namespace culex {
namespace {

using Clock = ProxyConnection::Clock;

// Refusals being answered at once; past that, an over-limit client is closed unanswered,
// so that a flood of them costs no more than this.
constexpr int kMaxRefusing = 64;
constexpr int kMaxAcceptsPerWake = 64;
constexpr auto kTick = std::chrono::milliseconds(100);
// After running out of file descriptors, the listener rests this long (else the loop
// would spin on a connection it cannot take).
constexpr auto kAcceptPause = std::chrono::milliseconds(100);

// Far below civetweb's keep_alive_timeout_ms (server.cpp).
constexpr auto kBackendIdle = std::chrono::seconds(1);

// Tags in epoll's data.ptr for the two descriptors that are not connections.
char listen_tag;
char wake_tag;

}  // namespace

HttpFrontend::HttpFrontend(FrontendSettings settings, LogQueue& log)
    : settings_(std::move(settings)),
      log_(log),
      limits_(settings_.max_connections, settings_.max_connections_per_client),
      backends_(settings_.backend_port, settings_.backend_spare, kBackendIdle) {}

HttpFrontend::~HttpFrontend() {
    stop();
}

Status HttpFrontend::start() {
    const bool tls = !settings_.tls_cert.empty();
    if (tls) {
        Result<std::shared_ptr<TlsContext>> loaded =
            TlsContext::load(settings_.tls_cert, settings_.tls_key);
        if (!loaded.is_ok())
            return loaded.status();
        tls_ = std::move(loaded.value());
    }
    const std::string bad = std::string("plugin_opt_http_listen: cannot serve ") +
                            (tls ? "HTTPS" : "HTTP") + " on " + settings_.listen + ": ";
    const size_t colon = settings_.listen.rfind(':');
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    int port = -1;
    const char* port_text = settings_.listen.data() + colon + 1;
    const char* end = settings_.listen.data() + settings_.listen.size();
    if (colon == std::string::npos || std::from_chars(port_text, end, port).ptr != end ||
        port < 0 || port > 65535 ||
        inet_pton(AF_INET, settings_.listen.substr(0, colon).c_str(), &addr.sin_addr) != 1)
        return Status::error(bad + "expected IPv4:port");
    addr.sin_port = htons(static_cast<uint16_t>(port));
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (listen_fd_ >= 0)
        setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, SOMAXCONN) != 0) {
        const int err = errno;
        stop();
        return Status::error(bad + strerror(err));
    }
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    epoll_event listen_event{};
    listen_event.events = EPOLLIN;
    listen_event.data.ptr = &listen_tag;
    epoll_event wake_event{};
    wake_event.events = EPOLLIN;
    wake_event.data.ptr = &wake_tag;
    if (epoll_fd_ < 0 || wake_fd_ < 0 ||
        epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &listen_event) != 0 ||
        epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &wake_event) != 0) {
        const int err = errno;
        stop();
        return Status::error(bad + strerror(err));
    }
    thread_ = start_worker_thread("culex-frontend", settings_.priority, log_, [this] { run(); });
    return Status::ok();
}

void HttpFrontend::stop() {
    if (thread_.joinable()) {
        stopping_ = true;
        const uint64_t one = 1;
        [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof one);
        thread_.join();
    }
    for (int* fd : {&listen_fd_, &epoll_fd_, &wake_fd_}) {
        if (*fd >= 0)
            close(*fd);
        *fd = -1;
    }
}

void HttpFrontend::run() {
    std::vector<epoll_event> events(256);
    Clock::time_point last_tick = Clock::now();
    while (!stopping_) {
        const int n = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()),
                                 static_cast<int>(kTick.count()));
        const Clock::time_point now = Clock::now();
        for (int i = 0; i < n; ++i) {
            void* tag = events[i].data.ptr;
            if (tag == &listen_tag) {
                accept_ready(now);
            } else if (tag != &wake_tag) {
                const Endpoint* endpoint = static_cast<const Endpoint*>(tag);
                endpoint->connection->on_event(endpoint->backend, events[i].events, now);
                if (endpoint->connection->finished())
                    finished_.push_back(endpoint->connection);
            }
        }
        if (now - last_tick >= kTick) {
            last_tick = now;
            if (!accepting_ && now >= accept_again_)
                set_accepting(true);
            backends_.expire(now);
            for (auto& [connection, held] : connections_) {
                connection->on_tick(now);
                if (connection->finished())
                    finished_.push_back(connection);
            }
        }
        // Connections are destroyed only here, after the batch, so that an event later
        // in the batch never points at a freed one.
        for (ProxyConnection* connection : finished_) {
            auto it = connections_.find(connection);
            if (it == connections_.end())
                continue;  // listed twice
            if (it->second.counted)
                limits_.release(it->second.address);
            else
                --refusing_;
            connections_.erase(it);
        }
        finished_.clear();
    }
    connections_.clear();
    backends_.clear();  // else civetweb's workers would wait on them at its stop
}

void HttpFrontend::accept_ready(Clock::time_point now) {
    for (int i = 0; i < kMaxAcceptsPerWake; ++i) {
        sockaddr_in peer{};
        socklen_t length = sizeof peer;
        const int fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &length,
                               SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            admit(fd, ntohl(peer.sin_addr.s_addr), now);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            set_accepting(false);
            accept_again_ = now + kAcceptPause;
        }
        return;
    }
}

void HttpFrontend::admit(int fd, uint32_t address, Clock::time_point now) {
    std::string refusal;
    switch (limits_.admit(address)) {
        case ConnectionLimits::Admission::kAdmitted:
            break;
        case ConnectionLimits::Admission::kClientFull:
            refusal = closing_answer(
                429, "this client address already has " + std::to_string(limits_.max_per_client()) +
                         " connections open, the most allowed; reuse or close one");
            break;
        case ConnectionLimits::Admission::kServerFull:
            refusal = closing_answer(503, "the server has " + std::to_string(limits_.max_total()) +
                                              " connections open, the most allowed; try again");
            break;
    }
    const bool counted = refusal.empty();
    std::unique_ptr<Transport> transport = counted || refusing_ < kMaxRefusing
                                               ? (tls_ ? tls_->wrap(fd) : plain_transport(fd))
                                               : nullptr;
    if (!transport) {
        if (counted)
            limits_.release(address);
        close(fd);
        return;
    }
    auto connection = std::make_unique<ProxyConnection>(
        epoll_fd_, settings_, backends_, fd, std::move(transport), std::move(refusal), now);
    ProxyConnection* raw = connection.get();
    connections_.emplace(raw, Held{std::move(connection), address, counted});
    if (!counted)
        ++refusing_;
    raw->start(now);
    if (raw->finished())
        finished_.push_back(raw);
}

void HttpFrontend::set_accepting(bool on) {
    epoll_event ev{};
    ev.events = on ? uint32_t{EPOLLIN} : 0;
    ev.data.ptr = &listen_tag;
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &ev);
    accepting_ = on;
}

}  // namespace culex
