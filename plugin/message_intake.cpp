#include "message_intake.h"

#include <atomic>
#include <cinttypes>

namespace culex {
namespace {

// Process-wide: with per_listener_settings a broker may load the plugin more than
// once, and (received_at, broker, seq) must stay unique across all instances.
std::atomic<uint64_t> next_seq{1};

}  // namespace

MessageIntake::MessageIntake(const TopicSelector& selector, IngestQueue& queue, IngestStats& stats,
                             LogQueue& log)
    : selector_(selector), queue_(queue), stats_(stats), log_(log) {}

void MessageIntake::accept(const IncomingPublish& publish) {
    stats_.received.fetch_add(1, std::memory_order_relaxed);
    if (!selector_.selects(publish.topic)) {
        stats_.filtered.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    Message m;
    m.received_us = wall_clock_us();
    m.seq = next_seq.fetch_add(1, std::memory_order_relaxed);
    m.topic.assign(publish.topic);
    m.payload.assign(publish.payload);
    m.client_id.assign(publish.client_id);
    if (publish.username)
        m.username.emplace(*publish.username);
    m.qos = publish.qos;
    m.retain = publish.retain;
    if (observer_)
        observer_(m);
    IngestQueue::PushResult result = queue_.try_push(std::move(m));
    if (result == IngestQueue::PushResult::kQueued) {
        stats_.queued.fetch_add(1, std::memory_order_relaxed);
    } else {
        note_drop(result);
    }
}

void MessageIntake::note_drop(IngestQueue::PushResult why) {
    stats_.dropped_queue_full.fetch_add(1, std::memory_order_relaxed);
    ++drops_since_log_;
    auto now = SteadyClock::now();
    if (now - last_drop_log_ < kDropLogInterval)
        return;
    const char* bound = why == IngestQueue::PushResult::kFullBytes ? "queue_max_bytes"
                        : why == IngestQueue::PushResult::kClosed  ? "shutting down"
                                                                   : "queue_capacity";
    log_.printf(LogLevel::kWarning,
                "culex: ingest queue full (%s): %" PRIu64
                " message(s) not stored since the last report (still delivered to "
                "subscribers). Is PostgreSQL down or too slow?",
                bound, drops_since_log_);
    drops_since_log_ = 0;
    last_drop_log_ = now;
}

}  // namespace culex
