#include "storage_maintenance.h"

#include <cinttypes>
#include <cstdlib>
#include <vector>

#include "common/clock.h"
#include "common/time_text.h"
#include "common/worker_thread.h"
#include "partitions.h"
#include "retention.h"
#include "schema_connect.h"
#include "time_index.h"

namespace culex {
namespace {

using std::chrono::milliseconds;

// Arbitrary constant shared by every Culex broker (migrations use ...533, partition
// creation ...534).
constexpr const char* kTryLock = "SELECT pg_try_advisory_lock(7240117433690218535)";
constexpr const char* kUnlock = "SELECT pg_advisory_unlock(7240117433690218535)";
// Intervals of partitions kept ready beyond the current one: enough for a clock step
// or a long outage's replay to find its partition already made.
constexpr int kIntervalsAhead = 3;
// Batches one retention entry may delete per run, so that every entry gets its turn
// and a stop is not kept waiting; what is left goes at the next run.
constexpr int kMaxBatchesPerRun = 100;
constexpr int64_t kUsPerSecond = 1000000;

}  // namespace

StorageMaintenance::StorageMaintenance(const Config& config, LogQueue& log, MaintenanceStats& stats,
                                       PartitionMap* partitions)
    : config_(config),
      log_(log),
      stats_(stats),
      partitions_(partitions),
      db_(config.db_conninfo),
      backoff_(milliseconds(500), milliseconds(config.db_retry_max_ms)) {}

StorageMaintenance::~StorageMaintenance() {
    stop();
}

void StorageMaintenance::start() {
    thread_ = start_worker_thread("culex-maint", config_.worker_priority, log_, [this] { run(); });
}

void StorageMaintenance::stop() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable())
        thread_.join();
}

bool StorageMaintenance::stopping() {
    std::lock_guard<std::mutex> lock(mu_);
    return stopping_;
}

bool StorageMaintenance::wait_for(milliseconds wait) {
    std::unique_lock<std::mutex> lock(mu_);
    return !wake_.wait_for(lock, wait, [this] { return stopping_; });
}

bool StorageMaintenance::connect() {
    if (db_.is_open())
        return true;
    // A statement stuck behind a long transaction ends, and is tried again next run.
    const SchemaConnect attempt = connect_to_schema(db_, "SET lock_timeout = '10s'");
    const auto wait = retry_delay(attempt, backoff_);
    if (attempt.ready())
        return true;
    if (attempt.state != SchemaConnectState::kSchemaNotYet)
        ++stats_.errors;
    // The writer reports an unreachable database; this thread only waits for it.
    wait_for(wait);
    return false;
}

void StorageMaintenance::run() {
    const milliseconds interval(config_.maintenance_interval_s * 1000);
    while (!stopping()) {
        if (!connect())
            continue;
        backoff_.reset();
        PgOutcome locked = db_.exec(kTryLock);
        if (!locked.ok()) {
            note_failure("taking the maintenance lock", locked);
            db_.close();
            continue;
        }
        if (PQgetvalue(locked.result.get(), 0, 0)[0] == 't') {
            const bool done = maintain();
            PgOutcome unlocked = db_.exec(kUnlock);
            if (!done || !unlocked.ok())
                db_.close();  // a fresh session also lets go of the lock
            ++stats_.runs;
            stats_.last_run_us = wall_clock_us();
        } else {
            ++stats_.runs_skipped;
        }
        wait_for(interval);
    }
    db_.close();
}

bool StorageMaintenance::note_failure(const std::string& what, const PgOutcome& outcome) {
    ++stats_.errors;
    log_.printf(LogLevel::kWarning,
                "culex: storage maintenance: %s failed: %s. It is tried again at the next run.",
                what.c_str(), outcome.message.c_str());
    return false;
}

bool StorageMaintenance::maintain() {
    bool ok = true;
    if (config_.partition_interval_s > 0)
        ok = create_ahead() && ok;
    if (config_.retention_s > 0 && !stopping())
        ok = drop_expired_partitions() && ok;
    if (!config_.retention_topics.empty() && !stopping())
        ok = delete_expired_topics() && ok;
    if (config_.trash_retention_s > 0 && !stopping())
        ok = purge_expired_trash() && ok;
    if (!stopping())
        ok = build_time_indexes() && ok;
    return ok;
}

bool StorageMaintenance::create_ahead() {
    const int width_hours = static_cast<int>(config_.partition_interval_s / 3600);
    const int64_t now = wall_clock_us();
    for (int i = 0; i <= kIntervalsAhead; ++i) {
        std::optional<std::string> created;
        const int64_t at = now + i * config_.partition_interval_s * kUsPerSecond;
        PgOutcome outcome = create_partition_for(db_, at, width_hours, created);
        if (!outcome.ok())
            return note_failure("creating the partition for " + format_rfc3339_us(at), outcome);
        if (created) {
            if (partitions_ != nullptr)
                partitions_->invalidate();
            ++stats_.partitions_created;
            log_.printf(LogLevel::kInfo, "culex: created partition culex.%s ahead of time.",
                        created->c_str());
        }
    }
    return true;
}

bool StorageMaintenance::drop_expired_partitions() {
    const int64_t cutoff = wall_clock_us() - config_.retention_s * kUsPerSecond;
    std::vector<PartitionInfo> partitions;
    PgOutcome outcome = read_partitions(db_, false, partitions);
    if (!outcome.ok())
        return note_failure("listing partitions", outcome);
    for (const PartitionInfo& p : partitions) {
        if (p.until_us > cutoff || stopping())
            break;
        int64_t rows = 0;
        outcome = drop_partition(db_, p.name, rows);
        if (!outcome.ok())
            return note_failure("dropping partition culex." + p.name, outcome);
        if (partitions_ != nullptr)
            partitions_->invalidate();
        ++stats_.partitions_dropped;
        stats_.rows_dropped += static_cast<uint64_t>(rows);
        log_.printf(LogLevel::kNotice,
                    "culex: retention dropped partition culex.%s (messages received before "
                    "%s, %" PRId64 " rows): older than retention.",
                    p.name.c_str(), format_rfc3339_us(p.until_us).c_str(), rows);
        outcome = forget_id_blocks_before(db_, p.until_us);
        if (!outcome.ok())
            return note_failure("forgetting the id counters of dropped hours", outcome);
    }
    return true;
}

bool StorageMaintenance::delete_expired_topics() {
    bool ok = true;
    for (const Config::TopicRetention& entry : config_.retention_topics) {
        const int64_t cutoff = wall_clock_us() - entry.age_s * kUsPerSecond;
        int64_t total = 0;
        for (int batch = 0; batch < kMaxBatchesPerRun && !stopping(); ++batch) {
            int64_t deleted = 0;
            PgOutcome outcome = delete_topic_rows(db_, entry.filter, cutoff, kDeleteBatch, deleted);
            if (!outcome.ok()) {
                ok = note_failure("deleting old messages of '" + entry.filter + "'", outcome);
                break;
            }
            total += deleted;
            stats_.rows_deleted_topics += static_cast<uint64_t>(deleted);
            if (deleted < kDeleteBatch)
                break;
        }
        if (total > 0) {
            log_.printf(LogLevel::kNotice,
                        "culex: retention deleted %" PRId64 " messages of '%s' received before %s.",
                        total, entry.filter.c_str(), format_rfc3339_us(cutoff).c_str());
        }
    }
    return ok;
}

bool StorageMaintenance::purge_expired_trash() {
    const int64_t cutoff = wall_clock_us() - config_.trash_retention_s * kUsPerSecond;
    int64_t total = 0;
    bool ok = true;
    for (int batch = 0; batch < kMaxBatchesPerRun && !stopping(); ++batch) {
        int64_t purged = 0;
        PgOutcome outcome = purge_trash(db_, cutoff, kDeleteBatch, purged);
        if (!outcome.ok()) {
            ok = note_failure("purging soft-deleted messages", outcome);
            break;
        }
        total += purged;
        stats_.rows_purged_trash += static_cast<uint64_t>(purged);
        if (purged < kDeleteBatch)
            break;
    }
    if (total > 0) {
        log_.printf(LogLevel::kNotice,
                    "culex: retention purged %" PRId64 " soft-deleted messages deleted before %s.",
                    total, format_rfc3339_us(cutoff).c_str());
    }
    return ok;
}

bool StorageMaintenance::build_time_indexes() {
    std::vector<std::string> missing;
    PgOutcome outcome = partitions_without_time_index(db_, missing);
    if (!outcome.ok())
        return note_failure("listing partitions without the time index", outcome);
    stats_.time_index_pending = static_cast<int64_t>(missing.size());
    for (size_t i = 0; i < missing.size() && !stopping(); ++i) {
        const auto started = std::chrono::steady_clock::now();
        outcome = build_time_index(db_, missing[i]);
        if (!outcome.ok())
            return note_failure("building the time index of partition culex." + missing[i],
                                outcome);
        const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
        stats_.time_index_pending = static_cast<int64_t>(missing.size() - i - 1);
        log_.printf(LogLevel::kInfo,
                    "culex: built the time index of partition culex.%s in %.1f s (%zu left).",
                    missing[i].c_str(), took.count(), missing.size() - i - 1);
    }
    return true;
}

}  // namespace culex
