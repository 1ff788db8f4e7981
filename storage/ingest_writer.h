// The storage writer: one thread, one PostgreSQL connection, writing the ingest queue
// to culex.message_store in batches, in arrival order.
//
// Each batch is one binary COPY (one transaction). While the database is unreachable
// the writer keeps the batch it holds, reconnects with backoff and writes it again;
// a batch whose commit outcome is unknown is looked up first, so nothing is stored
// twice. A row PostgreSQL refuses is retried alone without its JSON copy and, if still
// refused, counted and logged (refused_by_db). The writer never calls broker
// functions; it logs through the LogQueue.
//
// With a spool (spool_dir), batches beyond spool_threshold queued messages (or half of
// queue_max_bytes) go to disk while the database is failing, as fast as they arrive,
// and at shutdown whatever could not be written does.
// Order is kept: the batch in hand is older than the spool, which is older than the
// queue; spooled batches are written back oldest first, each looked up first since a
// crash may have come between its commit and the removal of its file.
//
// Lifecycle: construct, start() once, stop() once; the destructor stops if needed.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "backoff.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/log.h"
#include "ingest_queue.h"
#include "ingest_stats.h"
#include "message_ids.h"
#include "partition_map.h"
#include "partitions.h"
#include "pg_connection.h"
#include "spool.h"
#include "topic_ids.h"

namespace culex {

class IngestWriter {
  public:
    // All references must outlive the writer.
    IngestWriter(const Config& config, IngestQueue& queue, LogQueue& log, IngestStats& stats);
    ~IngestWriter();
    IngestWriter(const IngestWriter&) = delete;
    IngestWriter& operator=(const IngestWriter&) = delete;

    // Opens spool_dir when configured; call before start(). An error means the
    // directory is unusable (the message names it).
    Status open_spool();

    // Called on the writer thread with each batch just committed; it may take the
    // messages (the writer clears the vector afterwards). Set before start().
    // Told of every partition the writer makes, so the API's reads see it at once. Set
    // before start(); may stay unset.
    void set_partition_map(PartitionMap* partitions) { partition_map_ = partitions; }

    void set_commit_observer(std::function<void(std::vector<Message>&)> observer) {
        commit_observer_ = std::move(observer);
    }

    // Starts the thread. The caller decides the thread's signal mask (it inherits it).
    void start();

    // Closes the queue and waits until everything queued is written or `timeout`
    // passes. Returns how many messages were left unwritten.
    uint64_t stop(std::chrono::milliseconds timeout);

    // Batches waiting in the spool; only after stop() (the writer thread owns the spool).
    size_t spool_file_count() const { return spool_ ? spool_->file_count() : 0; }

    // Messages accepted but not yet written: the queue plus the batch in hand. Any thread.
    size_t backlog() const { return queue_.size() + batch_size_.load(std::memory_order_relaxed); }

  private:
    enum class WriteResult { kDone, kRetry };

    void run();
    bool take_next_batch();
    void finish_batch();
    bool ensure_ready();
    WriteResult write_batch();
    WriteResult write_rows_one_by_one();
    PgOutcome write_one_row(size_t index, bool with_json);
    // Partitions for the batch in hand, before each attempt to write it.
    PgOutcome prepare_batch();
    PgOutcome row_exists(size_t index, bool& exists);
    void note_db_failure(const std::string& what, const PgOutcome& outcome);
    // Waits for the next attempt, spooling the backlog as it grows meanwhile.
    void wait_before_retry();
    // Moves queued batches beyond the threshold (everything: all of them, and the batch
    // in hand) to the spool. False when there is no spool or it refused a batch.
    bool spill_to_spool(bool everything);
    size_t spool_threshold_bytes() const;
    void note_spool_failure(const Status& status);
    // Publishes the spool's size to IngestStats.
    void note_spool_size();
    bool out_of_time() const;

    const Config& config_;
    IngestQueue& queue_;
    LogQueue& log_;
    IngestStats& stats_;
    PgConnection db_;
    TopicIds topic_ids_;
    MessageIds message_ids_;
    PartitionCover partitions_;
    PartitionMap* partition_map_ = nullptr;
    std::unique_ptr<Spool> spool_;
    bool batch_from_spool_ = false;  // batch_ is the spool's oldest file
    size_t batch_taken_size_ = 0;    // batch_.size() when taken, before any row-by-row progress
    SteadyClock::time_point last_spool_log_{};
    Backoff backoff_;
    std::function<void(std::vector<Message>&)> commit_observer_;

    std::vector<Message> batch_;               // the batch being written, kept across retries
    std::atomic<size_t> batch_size_{0};        // batch_.size(), readable from other threads
    std::vector<int32_t> topic_ids_of_batch_;  // topic_ids_of_batch_[i] for batch_[i]
    std::string copy_buffer_;
    enum class BatchState {
        kFresh,           // never attempted, or known not to be stored
        kMaybeCommitted,  // a COPY failed with its outcome unknown (or read from the spool)
        kRowByRow,        // holds a refused row: written row by row, each looked up first
    };
    BatchState batch_state_ = BatchState::kFresh;
    bool partitions_checked_again_ = false;  // after a refused COPY of this batch
    int16_t broker_db_id_ = 0;
    bool ready_ = false;  // connected, migrated, broker id known

    // Outage bookkeeping for log lines an admin can act on.
    bool db_down_ = false;
    SteadyClock::time_point db_down_since_;
    SteadyClock::time_point last_failure_log_;

    mutable std::mutex stop_mu_;
    std::condition_variable stop_cv_;
    bool stopping_ = false;
    SteadyClock::time_point stop_deadline_;
    std::thread thread_;
};

}  // namespace culex
