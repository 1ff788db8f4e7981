#include "proxy_connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "problem.h"

namespace culex {
namespace {

constexpr size_t kReadChunk = 16384;
// Answers are read in larger pieces: most fit in one.
constexpr size_t kBackendChunk = 65536;
constexpr size_t kMaxResponseHead = 65536;
// A response without a length (the live stream) is read from civetweb only while less
// than this waits for the client; the stream's own queue limits then apply.
constexpr size_t kMaxStreamBacklog = size_t{1} << 20;
// How long a closing connection's unread input is drained, so that the kernel does not
// answer it with a reset that could destroy the answer before the client reads it.
constexpr auto kLinger = std::chrono::seconds(2);
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

bool would_block() {
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

}  // namespace

std::string closing_answer(int status, const std::string& detail) {
    Response r = problem(status, detail);
    std::string wire = "HTTP/1.1 " + std::to_string(status) + " " + status_phrase(status) +
                       "\r\nContent-Type: " + r.content_type +
                       "\r\nContent-Length: " + std::to_string(r.body.size()) +
                       "\r\nCache-Control: no-store\r\nConnection: close\r\n";
    if (status == 503 || status == 429)
        wire += "Retry-After: 1\r\n";
    for (const auto& [name, value] : r.headers)
        wire += name + ": " + value + "\r\n";
    wire += "\r\n";
    wire += r.body;
    return wire;
}

ProxyConnection::ProxyConnection(int epoll_fd, const FrontendSettings& settings,
                                 BackendPool& backends, int fd,
                                 std::unique_ptr<Transport> transport, std::string refusal,
                                 Clock::time_point now)
    : epoll_fd_(epoll_fd),
      settings_(settings),
      backends_(backends),
      fd_(fd),
      transport_(std::move(transport)),
      refusal_(std::move(refusal)),
      deadline_(now + (refusal_.empty()
                           ? settings.head_timeout
                           : std::min<Clock::duration>(settings.head_timeout, kLinger))) {}

ProxyConnection::~ProxyConnection() {
    finish();
}

void ProxyConnection::start(Clock::time_point now) {
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    epoll_event ev{};
    ev.data.ptr = &client_endpoint_;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd_, &ev) != 0) {
        finish();
        return;
    }
    advance(now);
}

void ProxyConnection::on_event(bool backend, uint32_t events, Clock::time_point now) {
    if (phase_ == Phase::kDone)
        return;
    if (!backend) {
        if ((events & (EPOLLERR | EPOLLHUP)) != 0 && phase_ != Phase::kRequest) {
            finish();  // gone; in kRequest its last bytes may still be read
            return;
        }
        if ((events & EPOLLRDHUP) != 0 && phase_ == Phase::kExchange) {
            client_eof_ = true;
            // A live-stream client does not half-close; it has gone.
            if (response_started_ && response_.body == BodyFraming::kUntilClose) {
                finish();
                return;
            }
        }
    }
    advance(now);
}

void ProxyConnection::on_tick(Clock::time_point now) {
    if (phase_ == Phase::kDone)
        return;
    if (out_pending() && now >= write_deadline_) {
        finish();  // the client does not take its answer
        return;
    }
    if (now < deadline_)
        return;
    switch (phase_) {
        case Phase::kHandshake:
            finish();
            return;
        case Phase::kRequest:
            if (out_pending())
                return;  // the answer before still drains; the write deadline applies
            if (in_.empty() && !head_done_) {
                finish();  // an idle kept-alive connection: closed without a word
                return;
            }
            refuse(408,
                   "the request did not arrive within " +
                       std::to_string(settings_.head_timeout.count()) + " ms",
                   now);
            advance(now);
            return;
        case Phase::kClosing:
            if (shut_)
                finish();
            return;
        case Phase::kExchange:
        case Phase::kDone:
            return;
    }
}

void ProxyConnection::advance(Clock::time_point now) {
    for (;;) {
        const Phase before = phase_;
        switch (phase_) {
            case Phase::kHandshake:
                handshake();
                break;
            case Phase::kRequest:
                read_request(now);
                break;
            case Phase::kExchange:
                exchange(now);
                break;
            case Phase::kClosing:
                closing(now);
                break;
            case Phase::kDone:
                return;
        }
        if (phase_ != Phase::kDone)
            flush(now);
        if (phase_ == before || phase_ == Phase::kDone)
            break;
    }
    if (phase_ != Phase::kDone)
        update_interest();
}

void ProxyConnection::handshake() {
    const IoResult r = transport_->handshake();
    if (r.kind == IoResult::Kind::kClosed) {
        finish();
    } else if (r.kind == IoResult::Kind::kOk) {
        if (refusal_.empty()) {
            phase_ = Phase::kRequest;
        } else {
            out_ = std::move(refusal_);
            write_deadline_ = deadline_;
            phase_ = Phase::kClosing;
        }
    }
}

void ProxyConnection::read_request(Clock::time_point now) {
    // Read only what the request in hand can still need; what follows it (a pipelined
    // request) waits in the socket until this one is answered.
    size_t limit = kMaxRequestHead + 1;
    if (head_done_) {
        if (head_.body == BodyFraming::kLength)
            limit = head_.size + head_.content_length;
        else if (head_.body == BodyFraming::kChunked)
            limit = head_.size + 2 * settings_.max_body_bytes + kReadChunk;
        else
            limit = head_.size;
    }
    char buffer[kReadChunk];
    while (!client_eof_ && in_.size() < limit) {
        const IoResult r = transport_->read(buffer, std::min(sizeof buffer, limit - in_.size()));
        if (r.kind == IoResult::Kind::kWouldBlock)
            break;
        if (r.kind == IoResult::Kind::kClosed) {
            client_eof_ = true;
            break;
        }
        in_.append(buffer, r.bytes);
    }
    take_request(now);
}

void ProxyConnection::take_request(Clock::time_point now) {
    if (!head_done_) {
        // Empty lines before a request line are allowed (RFC 9112 §2.2).
        const size_t start = in_.find_first_not_of("\r\n");
        in_.erase(0, start == std::string::npos ? in_.size() : start);
        if (in_.empty()) {
            if (client_eof_)
                phase_ = Phase::kClosing;  // after what is still going out
            return;
        }
        head_ = parse_request_head(in_, kMaxRequestHead);
        if (head_.parse == RequestHead::Parse::kBad) {
            refuse(head_.error_status, head_.error, now);
            return;
        }
        if (head_.parse == RequestHead::Parse::kIncomplete) {
            if (in_.size() > kMaxRequestHead)
                refuse(431,
                       "the request head (request line and headers) is larger than " +
                           std::to_string(kMaxRequestHead) + " bytes",
                       now);
            else if (client_eof_)
                refuse(400, "the connection ended inside the request head", now);
            return;
        }
        head_done_ = true;
        if (head_.body == BodyFraming::kLength && head_.content_length > settings_.max_body_bytes) {
            refuse(413,
                   "the request body is larger than " + std::to_string(settings_.max_body_bytes) +
                       " bytes",
                   now);
            return;
        }
        if (head_.body != BodyFraming::kNone) {
            deadline_ = now + settings_.head_timeout;  // the body's own time
            request_chunks_ = ChunkedReader();
            chunks_fed_ = head_.size;
            if (head_.expect_continue)
                append_out(kContinue, now);
        }
    }
    size_t end = head_.size;
    bool complete = true;
    if (head_.body == BodyFraming::kLength) {
        end = head_.size + static_cast<size_t>(head_.content_length);
        complete = in_.size() >= end;
    } else if (head_.body == BodyFraming::kChunked) {
        chunks_fed_ += request_chunks_.feed(std::string_view(in_).substr(chunks_fed_));
        if (request_chunks_.failed()) {
            refuse(400, "the chunked request body is malformed", now);
            return;
        }
        if (request_chunks_.data_bytes() > settings_.max_body_bytes ||
            (!request_chunks_.done() &&
             in_.size() >= head_.size + 2 * settings_.max_body_bytes + kReadChunk)) {
            refuse(413,
                   "the request body is larger than " + std::to_string(settings_.max_body_bytes) +
                       " bytes",
                   now);
            return;
        }
        end = chunks_fed_;
        complete = request_chunks_.done();
    }
    if (!complete) {
        if (client_eof_)
            refuse(400, "the connection ended inside the request body", now);
        return;
    }
    start_exchange(end, now);
}

void ProxyConnection::start_exchange(size_t request_end, Clock::time_point now) {
    backend_fd_ = backends_.acquire();
    if (backend_fd_ < 0) {
        refuse(503, "the API cannot take requests right now; try again later", now);
        return;
    }
    epoll_event ev{};
    ev.data.ptr = &backend_endpoint_;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, backend_fd_, &ev) != 0) {
        close(backend_fd_);
        backend_fd_ = -1;
        refuse(503, "the API cannot take requests right now; try again later", now);
        return;
    }
    backend_events_ = 0;
    to_backend_.assign(in_, 0, request_end);
    to_backend_pos_ = 0;
    in_.erase(0, request_end);
    to_head_ = head_.method == "HEAD";
    keep_alive_ = head_.keep_alive;
    head_done_ = false;
    response_head_.clear();
    response_started_ = false;
    response_ = ResponseHead();
    response_chunks_ = ChunkedReader();
    phase_ = Phase::kExchange;
}

void ProxyConnection::exchange(Clock::time_point now) {
    while (to_backend_pos_ < to_backend_.size()) {
        const ssize_t n = send(backend_fd_, to_backend_.data() + to_backend_pos_,
                               to_backend_.size() - to_backend_pos_, MSG_NOSIGNAL);
        if (n < 0 && would_block())
            break;
        if (n <= 0) {
            backend_failed();
            return;
        }
        to_backend_pos_ += static_cast<size_t>(n);
    }
    if (to_backend_pos_ == to_backend_.size() && !to_backend_.empty()) {
        to_backend_.clear();
        to_backend_.shrink_to_fit();
        to_backend_pos_ = 0;
    }
    char buffer[kBackendChunk];
    while (phase_ == Phase::kExchange) {
        if (response_started_ && response_.body == BodyFraming::kUntilClose &&
            out_.size() - out_pos_ >= kMaxStreamBacklog)
            break;
        const ssize_t n = recv(backend_fd_, buffer, sizeof buffer, 0);
        if (n < 0 && would_block())
            break;
        if (n < 0) {
            backend_failed();
            return;
        }
        if (n == 0) {
            if (response_started_ && response_.body == BodyFraming::kUntilClose) {
                response_complete(now);
            } else {
                backend_failed();
            }
            return;
        }
        take_response(buffer, static_cast<size_t>(n), now);
    }
}

void ProxyConnection::take_response(const char* data, size_t size, Clock::time_point now) {
    if (response_started_) {
        take_response_body(data, size, now);
        return;
    }
    response_head_.append(data, size);
    for (;;) {
        response_ = parse_response_head(response_head_, to_head_);
        if (response_.parse == ResponseHead::Parse::kIncomplete) {
            if (response_head_.size() > kMaxResponseHead)
                backend_failed();
            return;
        }
        if (response_.parse == ResponseHead::Parse::kBad) {
            backend_failed();
            return;
        }
        if (response_.status >= 200)
            break;
        // civetweb's own 100 Continue, if any: the front end has answered that already.
        response_head_.erase(0, response_.size);
    }
    response_started_ = true;
    response_left_ = response_.content_length;
    append_out(std::string_view(response_head_).substr(0, response_.size), now);
    const std::string rest = response_head_.substr(response_.size);
    response_head_.clear();
    if (response_.body == BodyFraming::kNone) {
        response_complete(now);
        return;
    }
    take_response_body(rest.data(), rest.size(), now);
}

void ProxyConnection::take_response_body(const char* data, size_t size, Clock::time_point now) {
    std::string_view bytes(data, size);
    switch (response_.body) {
        case BodyFraming::kNone:
            return;
        case BodyFraming::kLength: {
            const size_t take =
                static_cast<size_t>(std::min<uint64_t>(response_left_, bytes.size()));
            append_out(bytes.substr(0, take), now);
            response_left_ -= take;
            if (response_left_ == 0)
                response_complete(now);
            return;
        }
        case BodyFraming::kChunked: {
            const size_t take = response_chunks_.feed(bytes);
            append_out(bytes.substr(0, take), now);
            if (response_chunks_.failed())
                backend_failed();
            else if (response_chunks_.done())
                response_complete(now);
            return;
        }
        case BodyFraming::kUntilClose:
            append_out(bytes, now);
            return;
    }
}

void ProxyConnection::response_complete(Clock::time_point now) {
    if (response_.keep_alive && response_.body != BodyFraming::kUntilClose) {
        epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, backend_fd_, nullptr);
        backends_.release(backend_fd_, now);
        backend_fd_ = -1;
        backend_events_ = 0;
    }
    close_backend();
    if (keep_alive_ && response_.keep_alive && response_.body != BodyFraming::kUntilClose &&
        !client_eof_) {
        phase_ = Phase::kRequest;
        deadline_ = now + settings_.head_timeout;
    } else {
        phase_ = Phase::kClosing;
    }
}

void ProxyConnection::backend_failed() {
    close_backend();
    if (!response_started_) {
        refuse(502, "the API did not answer this request; the broker log may say why",
               Clock::now());
    } else {
        phase_ = Phase::kClosing;  // the client sees the answer cut short
    }
}

void ProxyConnection::closing(Clock::time_point now) {
    flush(now);
    if (phase_ == Phase::kDone || out_pending())
        return;
    if (!shut_) {
        transport_->shutdown_write();
        shut_ = true;
        deadline_ = now + kLinger;
    }
    char buffer[kReadChunk];
    for (;;) {
        const ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
        if (n > 0)
            continue;
        if (n < 0 && would_block())
            return;
        finish();
        return;
    }
}

void ProxyConnection::flush(Clock::time_point now) {
    if (!out_pending())
        return;
    while (out_pending()) {
        const IoResult r = transport_->write(out_.data() + out_pos_, out_.size() - out_pos_);
        if (r.kind == IoResult::Kind::kWouldBlock)
            return;
        if (r.kind == IoResult::Kind::kClosed) {
            finish();
            return;
        }
        out_pos_ += r.bytes;
        write_deadline_ = now + settings_.head_timeout;
    }
    out_.clear();
    out_pos_ = 0;
    // A kept-alive client that took long to read its answer gets its full wait for the
    // next request from now.
    if (phase_ == Phase::kRequest && in_.empty() && !head_done_)
        deadline_ = std::max(deadline_, now + settings_.head_timeout);
}

void ProxyConnection::refuse(int status, const std::string& detail, Clock::time_point now) {
    close_backend();
    append_out(closing_answer(status, detail), now);
    phase_ = Phase::kClosing;
}

void ProxyConnection::append_out(std::string_view bytes, Clock::time_point now) {
    if (bytes.empty())
        return;
    if (!out_pending()) {
        out_.clear();
        out_pos_ = 0;
        write_deadline_ = now + settings_.head_timeout;
    }
    out_.append(bytes);
}

void ProxyConnection::close_backend() {
    if (backend_fd_ < 0)
        return;
    close(backend_fd_);  // also leaves the epoll set
    backend_fd_ = -1;
    backend_events_ = 0;
}

void ProxyConnection::finish() {
    close_backend();
    if (phase_ == Phase::kDone)
        return;
    close(fd_);
    phase_ = Phase::kDone;
}

void ProxyConnection::watch(int fd, Endpoint& endpoint, uint32_t events, uint32_t& registered) {
    if (events == registered)
        return;
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = &endpoint;
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
    registered = events;
}

void ProxyConnection::update_interest() {
    uint32_t client = 0;
    switch (phase_) {
        case Phase::kHandshake:
            client = transport_->blocked_on_write() ? EPOLLOUT : EPOLLIN;
            break;
        case Phase::kRequest:
            if (!client_eof_)
                client |= EPOLLIN;
            break;
        case Phase::kExchange:
            if (!client_eof_)
                client |= EPOLLRDHUP;
            break;
        case Phase::kClosing:
            if (shut_)
                client |= EPOLLIN;
            break;
        case Phase::kDone:
            return;
    }
    // Writes never wait for reads: renegotiation is off (transport.cpp).
    if (out_pending() || transport_->blocked_on_write())
        client |= EPOLLOUT;
    watch(fd_, client_endpoint_, client, client_events_);
    if (backend_fd_ < 0)
        return;
    uint32_t backend = 0;
    if (to_backend_pos_ < to_backend_.size())
        backend |= EPOLLOUT;
    if (!(response_started_ && response_.body == BodyFraming::kUntilClose &&
          out_.size() - out_pos_ >= kMaxStreamBacklog))
        backend |= EPOLLIN;
    watch(backend_fd_, backend_endpoint_, backend, backend_events_);
}

}  // namespace culex
