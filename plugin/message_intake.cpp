#include "message_intake.h"

#include <atomic>
#include <cinttypes>
#include <optional>

namespace culex {
namespace {

// Process-wide: with per_listener_settings a broker may load the plugin more than
// once, and (received_at, broker, seq) must stay unique across all instances.
std::atomic<uint64_t> next_seq{1};

}  // namespace

MessageIntake::MessageIntake(const TopicSelector& selector, const ClientPatterns& excluded,
                             IngestQueue& queue, IngestStats& stats, LogQueue& log,
                             Config::QueueFull policy)
    : selector_(selector),
      excluded_(excluded),
      queue_(queue),
      stats_(stats),
      log_(log),
      policy_(policy) {}

Message MessageIntake::copy_of(const IncomingPublish& publish) {
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
    return m;
}

IntakeResult MessageIntake::accept(const IncomingPublish& publish) {
    stats_.received.fetch_add(1, std::memory_order_relaxed);
    if (!selector_.selects(publish.topic)) {
        stats_.filtered.fetch_add(1, std::memory_order_relaxed);
        return IntakeResult::kFiltered;
    }
    if (excluded_.matches(publish.client_id)) {
        stats_.excluded.fetch_add(1, std::memory_order_relaxed);
        if (observer_ && observer_wanted_())
            observer_(copy_of(publish));
        return IntakeResult::kExcluded;
    }
    Message m = copy_of(publish);
    std::optional<Message> shown;
    if (observer_ && observer_wanted_())
        shown = m;
    IngestQueue::PushResult result = queue_.try_push(std::move(m));
    if (result == IngestQueue::PushResult::kQueued) {
        stats_.queued.fetch_add(1, std::memory_order_relaxed);
        if (shown)
            observer_(*shown);
        return IntakeResult::kQueued;
    }
    const bool refuse = policy_ == Config::QueueFull::kRejectV5 && publish.refusable;
    note_not_held(result, refuse);
    return refuse ? IntakeResult::kRefused : IntakeResult::kDropped;
}

void MessageIntake::note_not_held(IngestQueue::PushResult why, bool refused) {
    if (refused) {
        stats_.rejected_queue_full.fetch_add(1, std::memory_order_relaxed);
        ++refusals_since_log_;
    } else {
        stats_.dropped_queue_full.fetch_add(1, std::memory_order_relaxed);
        ++drops_since_log_;
    }
    auto now = SteadyClock::now();
    if (now - last_drop_log_ < kDropLogInterval)
        return;
    const char* bound = why == IngestQueue::PushResult::kFullBytes ? "queue_max_bytes"
                        : why == IngestQueue::PushResult::kClosed  ? "shutting down"
                                                                   : "queue_capacity";
    if (drops_since_log_ > 0) {
        log_.printf(LogLevel::kWarning,
                    "culex: ingest queue full (%s): %" PRIu64
                    " message(s) not stored since the last report (still delivered to "
                    "subscribers). Is PostgreSQL down or too slow?",
                    bound, drops_since_log_);
    }
    if (refusals_since_log_ > 0) {
        log_.printf(LogLevel::kWarning,
                    "culex: ingest queue full (%s): %" PRIu64
                    " MQTT 5 message(s) refused since the last report (queue_full reject_v5; "
                    "their publishers keep them). Is PostgreSQL down or too slow?",
                    bound, refusals_since_log_);
    }
    drops_since_log_ = 0;
    refusals_since_log_ = 0;
    last_drop_log_ = now;
}

}  // namespace culex
