// A raw HTTP/1.1 client on one TCP connection to 127.0.0.1, for what libcurl will not
// do: a head sent a line at a time, exact bytes, pipelined requests, many idle
// connections, and reading whatever comes back within a bounded wait. One thread per
// connection; header-only so that the test binaries that need it just include it.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <string>
#include <string_view>

namespace culex::test {

struct RawReply {
    int status = 0;    // 0: no complete answer arrived in time
    std::string head;  // status line and header lines
    std::string body;
    // The first value of header `name` (any case), or "".
    std::string header(std::string_view name) const {
        std::string lower_head = head;
        std::transform(lower_head.begin(), lower_head.end(), lower_head.begin(),
                       [](unsigned char c) { return std::tolower(c); });
        std::string key = "\n" + std::string(name) + ":";
        std::transform(key.begin(), key.end(), key.begin(),
                       [](unsigned char c) { return std::tolower(c); });
        const size_t at = lower_head.find(key);
        if (at == std::string::npos)
            return "";
        size_t start = at + key.size();
        while (start < head.size() && head[start] == ' ')
            ++start;
        return head.substr(start, head.find("\r\n", start) - start);
    }
};

class RawConnection {
  public:
    explicit RawConnection(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(static_cast<uint16_t>(port));
        if (fd_ >= 0 && connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            close(fd_);
            fd_ = -1;
        }
    }
    ~RawConnection() {
        if (fd_ >= 0)
            close(fd_);
    }
    RawConnection(const RawConnection&) = delete;
    RawConnection& operator=(const RawConnection&) = delete;

    bool connected() const { return fd_ >= 0; }

    // False once the server has closed the connection.
    bool send_text(std::string_view bytes) {
        while (!bytes.empty()) {
            const ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n <= 0)
                return false;
            bytes.remove_prefix(static_cast<size_t>(n));
        }
        return true;
    }

    // One answer: its head, then Content-Length bytes of body (none when `no_body`, as
    // for HEAD). Consumes it from what was received.
    RawReply read_reply(std::chrono::milliseconds wait, bool no_body = false) {
        const auto deadline = std::chrono::steady_clock::now() + wait;
        RawReply reply;
        size_t end;
        while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
            if (!fill(deadline))
                return reply;
        }
        reply.head = buffer_.substr(0, end + 2);
        size_t length = 0;
        if (!no_body && !reply.header("Content-Length").empty())
            length = std::stoul(reply.header("Content-Length"));
        while (buffer_.size() < end + 4 + length) {
            if (!fill(deadline))
                return reply;
        }
        reply.body = buffer_.substr(end + 4, length);
        buffer_.erase(0, end + 4 + length);
        if (reply.head.size() > 12 && reply.head.rfind("HTTP/1.", 0) == 0)
            reply.status = std::stoi(reply.head.substr(9, 3));
        return reply;
    }

    // Reads until `text` has arrived (true) or the wait ends.
    bool read_until(std::string_view text, std::chrono::milliseconds wait) {
        const auto deadline = std::chrono::steady_clock::now() + wait;
        while (buffer_.find(text) == std::string::npos) {
            if (!fill(deadline))
                return false;
        }
        return true;
    }

    // True when the server closes the connection within `wait`; what it sent before is
    // in received().
    bool closed_within(std::chrono::milliseconds wait) {
        const auto deadline = std::chrono::steady_clock::now() + wait;
        while (!eof_) {
            if (!fill(deadline))
                break;
        }
        return eof_;
    }

    // Received and not yet consumed by read_reply.
    const std::string& received() const { return buffer_; }

  private:
    // One read, waiting until `deadline`; false on timeout or at the end of the stream.
    bool fill(std::chrono::steady_clock::time_point deadline) {
        if (eof_)
            return false;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(std::max<long long>(0, left.count()))) <= 0)
            return false;
        char chunk[16384];
        const ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
        if (n <= 0) {
            eof_ = true;  // closed, or reset
            return false;
        }
        buffer_.append(chunk, static_cast<size_t>(n));
        return true;
    }

    int fd_;
    std::string buffer_;
    bool eof_ = false;
};

}  // namespace culex::test
