// The HTTP API's reads on a streaming standby (plugin_opt_db_read_conninfo;
// docs/storage.md, "Read replicas").
//
// A ReadReplica owns a pool of connections to the standby and a monitor thread that asks
// the standby about itself about once a second (standby_status.h): reads go there while
// it is reachable, has the current schema, is in recovery, streams from its primary and
// lags at most max_lag; otherwise to the primary. Each switch is logged once, naming
// why, and a switch to the primary is counted. Requests never wait for the check: they
// read the verdict. A verdict older than a few seconds (the check hangs) counts as "go
// to the primary".
//
// Owned by the plugin's Platform: start and stop on the broker thread (start with
// signals blocked); everything else from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/config.h"
#include "common/log.h"
#include "common/status.h"
#include "partition_map.h"
#include "pg_pool.h"
#include "standby_status.h"

namespace culex {

class ReadReplica {
  public:
    ReadReplica(std::string conninfo, size_t connections,
                std::chrono::milliseconds statement_timeout, int64_t max_lag_ms,
                WorkerPriority priority, LogQueue& log);
    ~ReadReplica();
    ReadReplica(const ReadReplica&) = delete;
    ReadReplica& operator=(const ReadReplica&) = delete;

    void start();
    void stop();

    // Whether reads go to the standby now.
    bool up();
    // A standby connection when reads go to the standby now, waiting up to `wait` for a
    // free one; with `replayed_lsn` (read_wal_position on the primary) also waiting, up to
    // `wait`, until the standby has replayed that far. The error says why the primary
    // must answer instead.
    Result<PgPool::Lease> lease(std::chrono::milliseconds wait,
                                const std::string& replayed_lsn = "");

    // The standby's partitions (partition_map.h): it may lack the newest of the primary's.
    PartitionMap* partitions() { return &partitions_; }

    // Where a read was answered; `retried`: it failed on the standby first.
    void count_read(bool on_standby, bool retried = false);

    struct Stats {
        bool up = false;                // reads go to the standby
        uint64_t fallbacks = 0;         // switches from the standby to the primary
        uint64_t retries = 0;           // reads the standby failed, answered by the primary
        uint64_t standby_reads = 0;     // reads answered by the standby
        uint64_t primary_reads = 0;     // reads answered by the primary
        std::optional<int64_t> lag_ms;  // at the last check, when known
    };
    Stats stats();

  private:
    void run();
    StandbyJudgement check(PgConnection& db, bool& schema_current);
    // Sets the verdict, logging and counting a change. Caller holds mu_.
    void set_up_locked(bool up, const std::string& why);
    // The verdict, turned to "primary" when it has expired. Caller holds mu_.
    bool up_locked();
    // False when stop() was called meanwhile.
    bool pause(std::chrono::milliseconds how_long);

    const std::string conninfo_;
    const int64_t max_lag_ms_;
    const WorkerPriority priority_;
    LogQueue& log_;
    PgPool pool_;
    PartitionMap partitions_;

    std::mutex mu_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::optional<bool> up_;  // nullopt until the first check
    std::chrono::steady_clock::time_point checked_at_{};
    uint64_t fallbacks_ = 0;
    std::optional<int64_t> lag_ms_;
    std::atomic<uint64_t> retries_{0};
    std::atomic<uint64_t> standby_reads_{0};
    std::atomic<uint64_t> primary_reads_{0};
    std::thread thread_;
};

}  // namespace culex
