// The bounded queue between the broker thread (the only producer) and the storage
// writer (the only consumer).
//
// try_push never waits for the consumer to make room: when the queue is at its message
// or byte bound it refuses, and the caller applies the documented drop policy. It only
// waits for the mutex, which the consumer holds just long enough to move one batch
// out. pop_batch blocks the consumer until a batch is worth writing. All methods are
// thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <vector>

#include "common/message.h"

namespace culex {

class IngestQueue {
  public:
    enum class PushResult { kQueued, kFullMessages, kFullBytes, kClosed };

    IngestQueue(size_t max_messages, size_t max_bytes);
    IngestQueue(const IngestQueue&) = delete;
    IngestQueue& operator=(const IngestQueue&) = delete;

    // Takes the message on kQueued; leaves it untouched otherwise.
    PushResult try_push(Message&& message);

    // Waits up to `idle_wait` for a first message; then lingers up to `linger` more for
    // the batch to reach `max_rows`. Appends up to `max_rows` messages, oldest first, to
    // `out` and returns how many. Returns at once with what there is when closed.
    size_t pop_batch(std::vector<Message>& out, size_t max_rows, std::chrono::milliseconds linger,
                     std::chrono::milliseconds idle_wait);

    // Waits until `until` for the queue to hold at least `messages` messages or `bytes`
    // bytes. Returns kReached, kClosed (at once when closed, whatever the size) or
    // kTimedOut. For the consumer only, like pop_batch.
    enum class WaitResult { kReached, kClosed, kTimedOut };
    WaitResult wait_for_backlog(size_t messages, size_t bytes,
                                std::chrono::steady_clock::time_point until);

    // Puts messages the consumer popped but could not hand on back at the front, in
    // their order, ignoring the bounds (they were inside them a moment ago).
    void unpop(std::vector<Message>&& messages);

    // Refuses further pushes and wakes the consumer; queued messages stay poppable.
    void close();

    size_t size() const;
    size_t bytes() const;

  private:
    const size_t max_messages_;
    const size_t max_bytes_;
    mutable std::mutex mu_;
    std::condition_variable wake_consumer_;
    std::deque<Message> messages_;
    size_t bytes_ = 0;
    // The queue size or byte count at which the producer must wake the waiting
    // consumer; 0 = none.
    size_t wake_at_size_ = 0;
    size_t wake_at_bytes_ = 0;
    bool closed_ = false;
};

}  // namespace culex
