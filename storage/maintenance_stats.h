// Counters of the storage maintenance (storage_maintenance.h): written by its thread,
// read from anywhere (/metrics, GET /api/v1/storage).
#pragma once

#include <atomic>
#include <cstdint>

namespace culex {

struct MaintenanceStats {
    std::atomic<uint64_t> runs{0};                // runs this broker did (it held the lock)
    std::atomic<uint64_t> runs_skipped{0};        // another broker held the lock
    std::atomic<uint64_t> partitions_created{0};  // ahead of time (the writer logs its own)
    std::atomic<uint64_t> partitions_dropped{0};
    std::atomic<uint64_t> rows_dropped{0};         // in dropped partitions
    std::atomic<uint64_t> rows_deleted_topics{0};  // by retention_topics
    std::atomic<uint64_t> rows_purged_trash{0};    // by trash_retention
    std::atomic<uint64_t> errors{0};               // failed statements
    std::atomic<int64_t> time_index_pending{
        -1};                              // partitions without the time index; -1: not counted yet
    std::atomic<int64_t> last_run_us{0};  // wall clock of the last finished run; 0: none
};

}  // namespace culex
