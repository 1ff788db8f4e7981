// Counters of the ingest path. Written by the broker thread (received, filtered,
// excluded, queued, dropped) and the writer thread (everything else); read from anywhere.
#pragma once

#include <atomic>
#include <cstdint>

#include "common/histogram.h"

namespace culex {

struct IngestStats {
    std::atomic<uint64_t> received{0};             // MESSAGE events seen
    std::atomic<uint64_t> filtered{0};             // not selected by store/exclude_topics
    std::atomic<uint64_t> excluded{0};             // from a client in exclude_clients
    std::atomic<uint64_t> queued{0};               // accepted into the ingest queue
    std::atomic<uint64_t> dropped_queue_full{0};   // refused by a full queue: not stored
    std::atomic<uint64_t> rejected_queue_full{0};  // refused to an MQTT 5 publisher instead
    std::atomic<uint64_t> stored{0};               // committed to PostgreSQL
    std::atomic<uint64_t> refused_by_db{0};        // rows PostgreSQL refused even without JSON
    std::atomic<uint64_t> batches{0};              // committed COPY batches
    std::atomic<uint64_t> db_errors{0};            // failed write attempts
    std::atomic<uint64_t> spooled{0};              // messages moved to the disk spool
    std::atomic<uint64_t> replayed{0};             // spooled messages since written
    std::atomic<bool> db_up{false};                // the writer's connection is usable
    std::atomic<uint64_t> spool_files{0};          // batches in the spool now
    std::atomic<uint64_t> spool_bytes{0};          // and their size on disk
    // Rows per committed COPY, and how long each COPY with its commit took.
    Histogram batch_rows{{1, 10, 100, 500, 1000, 2000, 5000, 10000, 50000, 100000}};
    Histogram commit_seconds{
        {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}};
};

}  // namespace culex
