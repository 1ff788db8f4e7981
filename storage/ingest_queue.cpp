#include "ingest_queue.h"

#include <utility>

namespace culex {

IngestQueue::IngestQueue(size_t max_messages, size_t max_bytes)
    : max_messages_(max_messages), max_bytes_(max_bytes) {}

IngestQueue::PushResult IngestQueue::try_push(Message&& message) {
    size_t footprint = message.footprint();
    bool wake = false;
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (closed_)
            return PushResult::kClosed;
        if (messages_.size() >= max_messages_)
            return PushResult::kFullMessages;
        // A single message larger than the whole bound is still accepted into an empty
        // queue, so an oversized bound never blocks a big payload forever.
        if (bytes_ + footprint > max_bytes_ && !messages_.empty())
            return PushResult::kFullBytes;
        messages_.push_back(std::move(message));
        bytes_ += footprint;
        if ((wake_at_size_ != 0 && messages_.size() >= wake_at_size_) ||
            (wake_at_bytes_ != 0 && bytes_ >= wake_at_bytes_)) {
            wake_at_size_ = 0;
            wake_at_bytes_ = 0;
            wake = true;
        }
    }
    // Notifying only on the threshold keeps the broker thread out of futex calls for
    // all but one message per batch.
    if (wake)
        wake_consumer_.notify_one();
    return PushResult::kQueued;
}

size_t IngestQueue::pop_batch(std::vector<Message>& out, size_t max_rows,
                              std::chrono::milliseconds linger,
                              std::chrono::milliseconds idle_wait) {
    std::unique_lock<std::mutex> lock(mu_);
    if (messages_.empty() && !closed_) {
        wake_at_size_ = 1;
        wake_consumer_.wait_for(lock, idle_wait, [this] { return !messages_.empty() || closed_; });
    }
    if (!messages_.empty() && messages_.size() < max_rows && !closed_ && linger.count() > 0) {
        wake_at_size_ = max_rows;
        wake_consumer_.wait_for(
            lock, linger, [this, max_rows] { return messages_.size() >= max_rows || closed_; });
    }
    wake_at_size_ = 0;
    size_t n = std::min(max_rows, messages_.size());
    out.reserve(out.size() + n);
    for (size_t i = 0; i < n; ++i) {
        bytes_ -= messages_.front().footprint();
        out.push_back(std::move(messages_.front()));
        messages_.pop_front();
    }
    return n;
}

IngestQueue::WaitResult IngestQueue::wait_for_backlog(size_t messages, size_t bytes,
                                                      std::chrono::steady_clock::time_point until) {
    std::unique_lock<std::mutex> lock(mu_);
    auto reached = [&] { return messages_.size() >= messages || bytes_ >= bytes; };
    if (!closed_ && !reached()) {
        wake_at_size_ = messages;
        wake_at_bytes_ = bytes;
        wake_consumer_.wait_until(lock, until, [&] { return closed_ || reached(); });
        wake_at_size_ = 0;
        wake_at_bytes_ = 0;
    }
    if (closed_)
        return WaitResult::kClosed;
    return reached() ? WaitResult::kReached : WaitResult::kTimedOut;
}

void IngestQueue::unpop(std::vector<Message>&& messages) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
        bytes_ += it->footprint();
        messages_.push_front(std::move(*it));
    }
    messages.clear();
}

void IngestQueue::close() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        closed_ = true;
    }
    wake_consumer_.notify_all();
}

size_t IngestQueue::size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return messages_.size();
}

size_t IngestQueue::bytes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return bytes_;
}

}  // namespace culex
