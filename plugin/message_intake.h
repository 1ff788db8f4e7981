// What the broker thread does with each PUBLISH: select, copy, stamp, enqueue.
//
// Runs inside MOSQ_EVT_MESSAGE, so it is O(1) apart from the copy and never blocks on
// the database, the disk or the network. When the queue is full the message is not
// stored (it is still delivered to subscribers): counted in dropped_queue_full and
// logged at most once per kDropLogInterval with the count. Broker thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "common/clock.h"
#include "common/log.h"
#include "storage/ingest_queue.h"
#include "storage/ingest_stats.h"
#include "topic_selector.h"

namespace culex {

// The fields of one PUBLISH, pointing into broker memory for the call's duration.
struct IncomingPublish {
    std::string_view topic;
    std::string_view payload;
    std::string_view client_id;
    std::optional<std::string_view> username;  // absent when the client gave none
    uint8_t qos = 0;
    bool retain = false;
};

class MessageIntake {
  public:
    MessageIntake(const TopicSelector& selector, IngestQueue& queue, IngestStats& stats,
                  LogQueue& log);

    void accept(const IncomingPublish& publish);
    // Called on the broker thread with each message selected for storage, before it is
    // queued (the live stream's feed). Set before the broker runs.
    void set_observer(std::function<void(const Message&)> observer) {
        observer_ = std::move(observer);
    }

  private:
    void note_drop(IngestQueue::PushResult why);

    static constexpr std::chrono::seconds kDropLogInterval{10};

    const TopicSelector& selector_;
    IngestQueue& queue_;
    IngestStats& stats_;
    LogQueue& log_;
    std::function<void(const Message&)> observer_;
    uint64_t drops_since_log_ = 0;
    SteadyClock::time_point last_drop_log_{};
};

}  // namespace culex
