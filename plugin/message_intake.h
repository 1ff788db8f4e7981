// What the broker thread does with each PUBLISH: select, copy, stamp, enqueue.
//
// Runs inside MOSQ_EVT_MESSAGE, so it is O(1) apart from the copy and the topic and
// client-id patterns, and never blocks on the database, the disk or the network. A
// message from a client in exclude_clients (a bridge bringing what another broker
// stores) is neither copied nor stored, only counted (excluded) and shown to the
// observer. When the queue is full (the writer spools
// ahead of that when there is a spool) the queue_full policy applies: the message is
// either not stored and still delivered (dropped_queue_full), or, for a publisher that
// can be told (MQTT 5, QoS 1/2) under reject_v5, refused (rejected_queue_full) so the
// publisher keeps it. Both are logged at most once per kDropLogInterval with the count.
// Broker thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "common/client_pattern.h"
#include "common/clock.h"
#include "common/config.h"
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
    // The publisher would learn of a refusal (MQTT 5 and QoS 1 or 2) and keep the message.
    bool refusable = false;
};

enum class IntakeResult {
    kQueued,    // will be stored
    kFiltered,  // not selected for storage
    kExcluded,  // from an excluded client: delivered, not stored
    kDropped,   // not stored; the broker delivers it anyway
    kRefused,   // the broker must refuse it (reject_v5); nothing is delivered
};

class MessageIntake {
  public:
    MessageIntake(const TopicSelector& selector, const ClientPatterns& excluded, IngestQueue& queue,
                  IngestStats& stats, LogQueue& log, Config::QueueFull policy);

    IntakeResult accept(const IncomingPublish& publish);
    // `accepted` is called on the broker thread with each message just queued for
    // storage or excluded from it by exclude_clients (the live stream's feed: what this
    // broker routes, bridged messages included), and only while `wanted` says someone
    // listens, so that nobody pays for the copy it takes otherwise. Set before the
    // broker runs.
    void set_observer(std::function<bool()> wanted, std::function<void(const Message&)> accepted) {
        observer_wanted_ = std::move(wanted);
        observer_ = std::move(accepted);
    }

  private:
    // The stored form of `publish`, stamped with its arrival time and sequence number.
    static Message copy_of(const IncomingPublish& publish);
    void note_not_held(IngestQueue::PushResult why, bool refused);

    static constexpr std::chrono::seconds kDropLogInterval{10};

    const TopicSelector& selector_;
    const ClientPatterns& excluded_;
    IngestQueue& queue_;
    IngestStats& stats_;
    LogQueue& log_;
    const Config::QueueFull policy_;
    std::function<bool()> observer_wanted_;
    std::function<void(const Message&)> observer_;
    uint64_t drops_since_log_ = 0;
    uint64_t refusals_since_log_ = 0;
    SteadyClock::time_point last_drop_log_{};
};

}  // namespace culex
