#include "backend_pool.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace culex {

BackendPool::~BackendPool() {
    clear();
}

void BackendPool::clear() {
    for (const Idle& i : idle_)
        close(i.fd);
    idle_.clear();
}

int BackendPool::acquire() {
    while (!idle_.empty()) {
        // The most recently used first: the oldest then expire first.
        const int fd = idle_.back().fd;
        idle_.pop_back();
        char byte;
        // Anything to read, or the end, on an idle connection means civetweb is done
        // with it.
        if (recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) < 0 &&
            (errno == EAGAIN || errno == EWOULDBLOCK))
            return fd;
        close(fd);
    }
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

void BackendPool::release(int fd, Clock::time_point now) {
    if (idle_.size() >= max_idle_) {
        close(fd);
        return;
    }
    idle_.push_back({fd, now});
}

void BackendPool::expire(Clock::time_point now) {
    while (!idle_.empty() && now - idle_.front().since >= max_idle_time_) {
        close(idle_.front().fd);
        idle_.pop_front();
    }
}

}  // namespace culex
