#include "pg_cut_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace culex::test {
namespace {

sockaddr_in loopback(int port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    return addr;
}

bool send_all(int fd, const char* data, size_t n) {
    while (n > 0) {
        ssize_t w = send(fd, data, n, MSG_NOSIGNAL);
        if (w <= 0)
            return false;
        data += w;
        n -= static_cast<size_t>(w);
    }
    return true;
}

uint32_t read_be32(const std::string& s, size_t at) {
    return (static_cast<uint32_t>(static_cast<unsigned char>(s[at])) << 24) |
           (static_cast<uint32_t>(static_cast<unsigned char>(s[at + 1])) << 16) |
           (static_cast<uint32_t>(static_cast<unsigned char>(s[at + 2])) << 8) |
           static_cast<uint32_t>(static_cast<unsigned char>(s[at + 3]));
}

}  // namespace

PgCutProxy::PgCutProxy(int server_port) : server_port_(server_port) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr = loopback(0);
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(listen_fd_, 16) != 0) {
        throw std::runtime_error("proxy cannot listen");
    }
    socklen_t len = sizeof addr;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { accept_loop(); });
}

PgCutProxy::~PgCutProxy() {
    stopping_ = true;
    shutdown(listen_fd_, SHUT_RDWR);
    close(listen_fd_);
    thread_.join();
}

void PgCutProxy::accept_loop() {
    while (!stopping_) {
        pollfd p{listen_fd_, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        int client = accept(listen_fd_, nullptr, nullptr);
        if (client < 0)
            continue;
        int server = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr = loopback(server_port_);
        if (connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            close(client);
            close(server);
            continue;
        }
        // One connection at a time is all the writer uses.
        relay(client, server);
        close(client);
        close(server);
    }
}

void PgCutProxy::relay(int client, int server) {
    std::string from_client;    // bytes not yet parsed into whole messages
    bool startup_seen = false;  // the first message carries no type byte
    bool awaiting_answer = false;
    char buf[65536];
    while (!stopping_) {
        pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
        if (poll(fds, 2, 100) <= 0)
            continue;
        if (fds[1].revents != 0) {
            ssize_t n = recv(server, buf, sizeof buf, 0);
            if (n <= 0)
                return;
            if (awaiting_answer) {
                // The server answered the COPY: it has committed. Lose the answer.
                armed_ = false;
                cut_done_ = true;
                return;
            }
            if (!send_all(client, buf, static_cast<size_t>(n)))
                return;
        }
        if (fds[0].revents != 0) {
            ssize_t n = recv(client, buf, sizeof buf, 0);
            if (n <= 0)
                return;
            if (!send_all(server, buf, static_cast<size_t>(n)))
                return;
            from_client.append(buf, static_cast<size_t>(n));
            // Walk whole messages to spot CopyDone ('c').
            while (true) {
                size_t header = startup_seen ? 5 : 4;
                if (from_client.size() < header)
                    break;
                uint32_t len = read_be32(from_client, header - 4);
                size_t total = (startup_seen ? 1 : 0) + len;
                if (from_client.size() < total)
                    break;
                if (startup_seen && from_client[0] == 'c' && armed_)
                    awaiting_answer = true;
                startup_seen = true;
                from_client.erase(0, total);
            }
        }
    }
}

}  // namespace culex::test
