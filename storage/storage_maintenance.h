// Partition upkeep and retention (docs/storage.md, "Partitions and retention").
//
// One thread with a PostgreSQL connection of its own; it never touches the writer's
// connection or the broker thread. Soon after start and then every
// maintenance_interval it asks for a session advisory lock without waiting, so that one
// broker of those sharing a database does a run at a time while the others skip it. A
// run creates the partitions of the next intervals ahead of time (the writer makes a
// missing one itself, so nothing waits for this thread), drops partitions wholly older
// than `retention`, deletes rows of `retention_topics` past their age and purges
// soft-deleted rows past `trash_retention`, each in batches of kDeleteBatch rows, one
// statement per batch, and builds the parts of the time index a migrated database lacks
// (time_index.h), newest partition first; a stop waits for one build at most. Every run
// that changed something is logged, and everything is counted in MaintenanceStats.
// Failed statements are logged, counted and retried at the next run.
//
// Lifecycle: construct, start() once, stop() once; the destructor stops if needed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "backoff.h"
#include "common/config.h"
#include "common/log.h"
#include "maintenance_stats.h"
#include "partition_map.h"
#include "pg_connection.h"

namespace culex {

class StorageMaintenance {
  public:
    // All references must outlive the object.
    // `partitions` (may be null) is told of every partition made or dropped.
    StorageMaintenance(const Config& config, LogQueue& log, MaintenanceStats& stats,
                       PartitionMap* partitions);
    ~StorageMaintenance();
    StorageMaintenance(const StorageMaintenance&) = delete;
    StorageMaintenance& operator=(const StorageMaintenance&) = delete;

    // Starts the thread, which inherits the caller's signal mask.
    void start();
    // Ends the run in progress at its next statement and joins the thread.
    void stop();

    // Rows one delete statement takes: small enough to hold its locks briefly.
    static constexpr int64_t kDeleteBatch = 10000;

  private:
    void run();
    bool connect();
    // One run while holding the lock; false when a statement failed.
    bool maintain();
    bool create_ahead();
    bool drop_expired_partitions();
    bool delete_expired_topics();
    bool purge_expired_trash();
    bool build_time_indexes();
    bool note_failure(const std::string& what, const PgOutcome& outcome);
    bool stopping();
    // Waits up to `wait` or until stop(); false when stopping.
    bool wait_for(std::chrono::milliseconds wait);

    const Config& config_;
    LogQueue& log_;
    MaintenanceStats& stats_;
    PartitionMap* partitions_;
    PgConnection db_;
    Backoff backoff_;

    std::mutex mu_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace culex
