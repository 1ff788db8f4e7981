// Counters of the ingest path. Written by the broker thread (received, queued,
// dropped) and the writer thread (everything else); read from anywhere.
#pragma once

#include <atomic>
#include <cstdint>

namespace culex {

struct IngestStats {
    std::atomic<uint64_t> received{0};            // MESSAGE events seen
    std::atomic<uint64_t> filtered{0};            // not selected by store/exclude_topics
    std::atomic<uint64_t> queued{0};              // accepted into the ingest queue
    std::atomic<uint64_t> dropped_queue_full{0};  // refused by a full queue: not stored
    std::atomic<uint64_t> stored{0};              // committed to PostgreSQL
    std::atomic<uint64_t> refused_by_db{0};       // rows PostgreSQL refused even without JSON
    std::atomic<uint64_t> batches{0};             // committed COPY batches
    std::atomic<uint64_t> db_errors{0};           // failed write attempts
    std::atomic<uint64_t> spooled{0};             // messages moved to the disk spool
    std::atomic<uint64_t> replayed{0};            // spooled messages since written
};

}  // namespace culex
