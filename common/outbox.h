// Messages the plugin publishes (HTTP publish, timestamps), queued by any thread and
// published by the broker thread: mosquitto 2.0's broker functions are not thread-safe,
// so only the broker thread calls them, when it drains this queue on each tick.
//
// push() from any thread wakes the broker's loop (through the waker set at start) so a
// message does not wait for the next idle tick; wait_published() lets an HTTP handler
// answer only once the broker has the message. Bounded: push() refuses when full.
// All methods are thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace culex {

struct OutgoingMessage {
    std::string topic;
    std::string payload;
    int qos = 0;
    bool retain = false;
    // MQTT 5 properties, delivered to v5 subscribers.
    std::vector<std::pair<std::string, std::string>> user_properties;
    std::optional<std::string> content_type;
    std::optional<uint32_t> message_expiry_s;
    // How the stored copy names its sender (the broker does not fire the message event
    // for what plugins publish, so the plugin stores it itself).
    std::string client_id;
    std::optional<std::string> username;
    // False when the message is already stored (an API insert that is also published).
    bool store = true;
};

class BrokerOutbox {
  public:
    explicit BrokerOutbox(size_t capacity) : capacity_(capacity) {}

    // Called once, before other threads use the outbox.
    void set_waker(std::function<void()> waker) { waker_ = std::move(waker); }

    // Queues `m` and wakes the broker loop; its ticket for wait_published, or nullopt when
    // the outbox is full or closed.
    std::optional<uint64_t> push(OutgoingMessage m) {
        uint64_t ticket = 0;
        {
            std::lock_guard<std::mutex> lock(mu_);
            if (closed_ || queue_.size() >= capacity_)
                return std::nullopt;
            ticket = ++pushed_;
            queue_.push_back(std::move(m));
        }
        wake();
        return ticket;
    }

    // True once the broker thread has published `ticket`; false on timeout or close.
    // Wakes the loop again every millisecond while waiting: a wake that lands just
    // before the loop goes to sleep is otherwise lost until the next idle tick.
    bool wait_published(uint64_t ticket, std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        std::unique_lock<std::mutex> lock(mu_);
        while (published_ < ticket && !closed_) {
            if (std::chrono::steady_clock::now() >= deadline)
                return false;
            published_cv_.wait_for(lock, std::chrono::milliseconds(1));
            if (published_ < ticket && !closed_) {
                lock.unlock();
                wake();
                lock.lock();
            }
        }
        return published_ >= ticket;
    }

    // Broker thread: calls publish(message) for everything queued, oldest first.
    template <typename Publish>
    void drain(Publish&& publish) {
        std::deque<OutgoingMessage> batch;
        uint64_t last = 0;
        {
            std::lock_guard<std::mutex> lock(mu_);
            if (queue_.empty())
                return;
            batch.swap(queue_);
            last = pushed_;
        }
        for (OutgoingMessage& m : batch)
            publish(m);
        std::lock_guard<std::mutex> lock(mu_);
        published_ = last;
        published_cv_.notify_all();
    }

    // Refuses further pushes and releases waiters (broker shutdown).
    void close() {
        std::lock_guard<std::mutex> lock(mu_);
        closed_ = true;
        published_cv_.notify_all();
    }

  private:
    void wake() {
        if (waker_)
            waker_();
    }

    const size_t capacity_;
    std::function<void()> waker_;
    std::mutex mu_;
    std::condition_variable published_cv_;
    std::deque<OutgoingMessage> queue_;
    uint64_t pushed_ = 0;
    uint64_t published_ = 0;
    bool closed_ = false;
};

}  // namespace culex
