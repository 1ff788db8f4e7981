// Fan-out of arriving messages to live-stream clients (Server-Sent Events).
//
// The broker thread offers each message it accepts for storage, and each it routes but
// leaves to another broker to store (exclude_clients: bridged messages); every subscription whose
// MQTT filter matches gets a copy in its own bounded queue. A subscription whose client
// falls further behind than its bound stops receiving and is marked overflowed, so a
// slow client costs a bounded amount of memory and is cut off rather than slowing the
// broker. offer() is cheap when nobody subscribes. All methods are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/message.h"

namespace culex {

class LiveFeed {
  public:
    class Subscription {
      public:
        Subscription(std::string filter, size_t max_messages, size_t max_bytes)
            : filter_(std::move(filter)), max_messages_(max_messages), max_bytes_(max_bytes) {}
        // The messages queued so far, waiting up to `wait` for the first; empty on timeout,
        // overflow or when the feed closed.
        std::vector<Message> take(std::chrono::milliseconds wait);
        bool overflowed() const { return overflowed_; }
        bool closed() const { return closed_; }

      private:
        friend class LiveFeed;
        void push(const Message& m);
        void close();

        const std::string filter_;
        const size_t max_messages_;
        const size_t max_bytes_;
        std::mutex mu_;
        std::condition_variable ready_;
        std::deque<Message> queue_;
        size_t bytes_ = 0;
        std::atomic<bool> overflowed_{false};
        std::atomic<bool> closed_{false};
    };

    std::shared_ptr<Subscription> subscribe(std::string filter, size_t max_messages,
                                            size_t max_bytes);
    void unsubscribe(const std::shared_ptr<Subscription>& subscription);
    size_t subscribers() const { return count_; }

    // Broker thread.
    void offer(const Message& m);
    // Ends every subscription (shutdown).
    void close();

  private:
    mutable std::mutex mu_;
    std::list<std::shared_ptr<Subscription>> subscriptions_;
    std::atomic<size_t> count_{0};
};

}  // namespace culex
