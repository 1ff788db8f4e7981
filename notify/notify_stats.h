// Counters of rules and deliveries. Written by the matcher and dispatcher threads, read
// from anywhere (/metrics).
#pragma once

#include <atomic>
#include <cstdint>

namespace culex {

struct NotifyStats {
    std::atomic<uint64_t> rules_loaded{0};      // enabled rules in the current rule set
    std::atomic<uint64_t> rules_invalid{0};     // stored rules skipped because they no longer parse
    std::atomic<uint64_t> messages_matched{0};  // stored messages that matched a rule
    std::atomic<uint64_t> deliveries_queued{0};  // deliveries written to the outbox table
    // Committed batches not matched because the matcher's queue was full (PostgreSQL
    // unreachable for the matcher for long): their rules did not fire.
    std::atomic<uint64_t> match_dropped{0};
    std::atomic<uint64_t> attempts{0};  // send attempts started
    std::atomic<uint64_t> delivered{0};
    std::atomic<uint64_t> failed_attempts{0};  // attempts that failed (retried or not)
    std::atomic<uint64_t> dead{0};             // deliveries given up on
    std::atomic<uint64_t> db_errors{0};
    std::atomic<uint64_t> match_queue_depth{0};  // messages waiting to be matched
    // Deliveries per state in the database, refreshed every few seconds; -1 unknown.
    std::atomic<int64_t> state_pending{-1};
    std::atomic<int64_t> state_sending{-1};
    std::atomic<int64_t> state_delivered{-1};
    std::atomic<int64_t> state_dead{-1};
};

}  // namespace culex
