#include "ingest_writer.h"

#include <algorithm>
#include <cinttypes>
#include <utility>

#include "common/json_check.h"
#include "common/time_text.h"
#include "common/worker_thread.h"
#include "copy_encoder.h"
#include "migrations.h"

namespace culex {
namespace {

using std::chrono::milliseconds;

const std::string kCopySql = std::string("COPY culex.message_store (") + kMessageStoreColumns +
                             ") FROM STDIN (FORMAT binary)";

// How long the writer sleeps in the queue when there is nothing to do; bounds how
// late it notices a stop request.
constexpr milliseconds kIdleWait{200};
// While the database stays down, repeat the outage line this often, not per retry.
constexpr std::chrono::seconds kOutageLogInterval{30};

int64_t seconds_since(SteadyClock::time_point t) {
    return std::chrono::duration_cast<std::chrono::seconds>(SteadyClock::now() - t).count();
}

}  // namespace

IngestWriter::IngestWriter(const Config& config, IngestQueue& queue, LogQueue& log,
                           IngestStats& stats)
    : config_(config),
      queue_(queue),
      log_(log),
      stats_(stats),
      db_(config.db_conninfo),
      backoff_(milliseconds(100), milliseconds(config.db_retry_max_ms)) {}

IngestWriter::~IngestWriter() {
    if (thread_.joinable())
        stop(milliseconds(0));
}

void IngestWriter::start() {
    thread_ = start_worker_thread("culex-writer", config_.worker_priority, log_, [this] { run(); });
}

uint64_t IngestWriter::stop(milliseconds timeout) {
    {
        std::lock_guard<std::mutex> lock(stop_mu_);
        stopping_ = true;
        stop_deadline_ = SteadyClock::now() + timeout;
    }
    stop_cv_.notify_all();
    queue_.close();
    if (thread_.joinable())
        thread_.join();
    // A batch read from the spool is still safe in its file.
    return (batch_from_spool_ ? 0 : batch_.size()) + queue_.size();
}

size_t IngestWriter::spool_threshold_bytes() const {
    // Half the byte bound, as the message threshold defaults to half the message bound:
    // big payloads must reach the spool before they fill queue_max_bytes.
    return std::max<size_t>(1, config_.queue_max_bytes / 2);
}

bool IngestWriter::out_of_time() const {
    std::lock_guard<std::mutex> lock(stop_mu_);
    return stopping_ && SteadyClock::now() >= stop_deadline_;
}

void IngestWriter::run() {
    // Connect at once rather than at the first message, so that the schema exists and
    // a wrong conninfo shows in the log right after start.
    ensure_ready();
    while (!out_of_time()) {
        if (batch_.empty() && !take_next_batch()) {
            std::lock_guard<std::mutex> lock(stop_mu_);
            if (stopping_)
                break;  // closed and drained
            continue;
        }
        // While the spool is being written back, new messages beyond the threshold
        // join its end rather than pile up in memory.
        if (spool_ && !spool_->empty())
            spill_to_spool(false);
        if (ensure_ready() && write_batch() == WriteResult::kDone) {
            finish_batch();
            continue;
        }
        spill_to_spool(false);
        wait_before_retry();
    }
    // Whatever could not be written in time goes to the spool instead of being lost.
    spill_to_spool(true);
}

bool IngestWriter::take_next_batch() {
    batch_state_ = BatchState::kFresh;
    partitions_checked_again_ = false;
    batch_from_spool_ = false;
    uint64_t corrupt_before = spool_ ? spool_->corrupt_files() : 0;
    bool from_spool = spool_ && spool_->read_oldest(batch_);
    if (spool_ && spool_->corrupt_files() != corrupt_before) {
        log_.printf(LogLevel::kError,
                    "culex: %" PRIu64
                    " spool file(s) in %s failed their checksum and were set "
                    "aside as *.corrupt; their messages are not stored.",
                    spool_->corrupt_files() - corrupt_before, config_.spool_dir.c_str());
    }
    if (from_spool) {
        batch_from_spool_ = true;
        // A crash may have come between this batch's commit and its file's removal.
        batch_state_ = BatchState::kMaybeCommitted;
    } else {
        queue_.pop_batch(batch_, config_.batch_max_rows, milliseconds(config_.batch_max_ms),
                         kIdleWait);
    }
    batch_size_ = batch_.size();
    batch_taken_size_ = batch_.size();
    return !batch_.empty();
}

void IngestWriter::note_spool_size() {
    stats_.spool_files = spool_ ? spool_->file_count() : 0;
    stats_.spool_bytes = spool_ ? spool_->bytes() : 0;
}

void IngestWriter::finish_batch() {
    if (batch_from_spool_) {
        spool_->remove_oldest();
        note_spool_size();
        stats_.replayed += batch_taken_size_;
        if (spool_->empty()) {
            log_.printf(LogLevel::kNotice,
                        "culex: spool written back to PostgreSQL (%" PRIu64
                        " messages replayed so far).",
                        stats_.replayed.load());
        }
    }
    if (commit_observer_)
        commit_observer_(batch_);
    batch_.clear();
    batch_size_ = 0;
    batch_from_spool_ = false;
    backoff_.reset();
}

Status IngestWriter::open_spool() {
    if (config_.spool_dir.empty())
        return Status::ok();
    spool_ = std::make_unique<Spool>(config_.spool_dir, config_.spool_max_bytes);
    Status opened = spool_->open();
    if (!opened.is_ok()) {
        spool_.reset();
        return opened;
    }
    note_spool_size();
    if (!spool_->empty()) {
        log_.printf(LogLevel::kNotice,
                    "culex: %zu spooled batches (%" PRIu64
                    " bytes) from an earlier run are written first.",
                    spool_->file_count(), spool_->bytes());
    }
    return Status::ok();
}

bool IngestWriter::spill_to_spool(bool everything) {
    if (!spool_)
        return false;
    size_t before = stats_.spooled;
    if (everything && !batch_.empty() && !batch_from_spool_) {
        // The batch in hand is older than anything spooled.
        Status stored = spool_->prepend(batch_);
        if (!stored.is_ok()) {
            note_spool_failure(stored);
            return false;
        }
        stats_.spooled += batch_.size();
        batch_.clear();
        batch_size_ = 0;
    }
    std::vector<Message> moving;
    while (everything ? queue_.size() > 0
                      : queue_.size() >= config_.spool_threshold ||
                            queue_.bytes() >= spool_threshold_bytes()) {
        moving.clear();
        if (queue_.pop_batch(moving, config_.batch_max_rows, milliseconds(0), milliseconds(0)) ==
            0) {
            break;
        }
        Status stored = spool_->append(moving);
        if (!stored.is_ok()) {
            queue_.unpop(std::move(moving));
            note_spool_failure(stored);
            return false;
        }
        stats_.spooled += moving.size();
    }
    note_spool_size();
    auto now = SteadyClock::now();
    if (stats_.spooled != before && (everything || now - last_spool_log_ >= kOutageLogInterval)) {
        last_spool_log_ = now;
        log_.printf(LogLevel::kWarning,
                    "culex: %" PRIu64
                    " messages spooled to %s so far; the spool holds %zu batches "
                    "(%" PRIu64 " bytes) to write when PostgreSQL is back.",
                    stats_.spooled.load(), config_.spool_dir.c_str(), spool_->file_count(),
                    spool_->bytes());
    }
    return true;
}

void IngestWriter::note_spool_failure(const Status& status) {
    auto now = SteadyClock::now();
    if (now - last_spool_log_ < kOutageLogInterval)
        return;
    last_spool_log_ = now;
    log_.printf(LogLevel::kError,
                "culex: cannot spool: %s. Messages stay in memory (%zu queued) and are dropped "
                "once queue_capacity or queue_max_bytes is reached.",
                status.message().c_str(), queue_.size());
}

void IngestWriter::wait_before_retry() {
    auto until = SteadyClock::now() + backoff_.next();
    // The broker keeps filling the queue while the writer waits, often far faster than
    // the gap between attempts; with a spool the backlog goes to disk as it builds up,
    // so only a full or failing spool lets the queue bound drop messages.
    bool spooling = spool_ != nullptr;
    while (true) {
        if (spooling)
            spooling = spill_to_spool(false);
        std::unique_lock<std::mutex> lock(stop_mu_);
        if (stopping_ && stop_deadline_ < until)
            until = stop_deadline_;
        if (SteadyClock::now() >= until)
            return;
        if (!spooling || stopping_) {
            stop_cv_.wait_until(lock, until);
            return;
        }
        lock.unlock();
        if (queue_.wait_for_backlog(config_.spool_threshold, spool_threshold_bytes(), until) ==
            IngestQueue::WaitResult::kTimedOut) {
            return;
        }
    }
}

void IngestWriter::note_db_failure(const std::string& what, const PgOutcome& outcome) {
    ++stats_.db_errors;
    if (outcome.error == PgErrorKind::kConnection) {
        ready_ = false;
        stats_.db_up = false;
    }
    auto now = SteadyClock::now();
    if (!db_down_) {
        db_down_ = true;
        db_down_since_ = now;
    } else if (now - last_failure_log_ < kOutageLogInterval) {
        return;
    }
    last_failure_log_ = now;
    log_.printf(LogLevel::kWarning,
                "culex: %s failed: %s. Messages are kept in memory (%zu queued) and written "
                "once this succeeds; retrying, failing for %" PRId64 " s.",
                what.c_str(), outcome.message.c_str(), queue_.size() + batch_.size(),
                seconds_since(db_down_since_));
}

bool IngestWriter::ensure_ready() {
    if (ready_ && db_.is_open())
        return true;
    ready_ = false;
    Status connected = db_.connect();
    if (!connected.is_ok()) {
        PgOutcome outcome;
        outcome.error = PgErrorKind::kConnection;
        outcome.message = connected.message();
        note_db_failure("connecting to PostgreSQL", outcome);
        return false;
    }
    PgOutcome migrated = apply_migrations(db_);
    if (!migrated.ok()) {
        note_db_failure("preparing the culex schema", migrated);
        return false;
    }
    PgOutcome broker = db_.exec(
        "WITH created AS (INSERT INTO culex.brokers (name) VALUES ($1)"
        " ON CONFLICT (name) DO NOTHING RETURNING id)"
        " SELECT id FROM created UNION ALL SELECT id FROM culex.brokers WHERE name = $1",
        {config_.broker_id});
    if (broker.ok() && PQntuples(broker.result.get()) == 0) {
        // Another broker inserted the same name after this statement's snapshot.
        broker.error = PgErrorKind::kOther;
        broker.message = "broker row not visible yet";
    }
    if (!broker.ok()) {
        note_db_failure("registering broker '" + config_.broker_id + "'", broker);
        return false;
    }
    broker_db_id_ = static_cast<int16_t>(std::atoi(PQgetvalue(broker.result.get(), 0, 0)));
    ready_ = true;
    stats_.db_up = true;
    if (db_down_) {
        log_.printf(LogLevel::kNotice,
                    "culex: PostgreSQL is reachable again after %" PRId64
                    " s; writing %zu queued messages.",
                    seconds_since(db_down_since_), queue_.size() + batch_.size());
        db_down_ = false;
    } else {
        log_.printf(LogLevel::kNotice, "culex: connected to PostgreSQL as broker '%s' (id %d).",
                    config_.broker_id.c_str(), broker_db_id_);
    }
    return true;
}

PgOutcome IngestWriter::row_exists(size_t index, bool& exists) {
    // The topic index finds the row; broker and seq tell it from other messages of the
    // same instant. The time goes in as a timestamptz value, so that the plan reads
    // (and locks) only the partition holding it.
    const Message& m = batch_[index];
    PgOutcome found = db_.exec(
        "SELECT 1 FROM culex.message_store WHERE topic_id = $1 AND received_at = $2::timestamptz"
        " AND broker_id = $3 AND seq = $4",
        {std::to_string(topic_ids_of_batch_[index]), format_rfc3339_us(m.received_us),
         std::to_string(broker_db_id_), std::to_string(m.seq)});
    if (found.ok())
        exists = PQntuples(found.result.get()) > 0;
    return found;
}

PgOutcome IngestWriter::prepare_batch() {
    for (Message& m : batch_) {
        if (m.received_us < kFirstRecordHourUs) {
            // A clock at 1970 (a device without a real-time clock, before NTP): stored
            // at the earliest time an id can name rather than not at all.
            log_.printf(LogLevel::kWarning,
                        "culex: a message on '%.200s' was received at %" PRId64
                        " us since 1970, before any record id; it is stored as received at "
                        "1970-01-01T01:00:00Z. Check this machine's clock.",
                        m.topic.c_str(), m.received_us);
            m.received_us = kFirstRecordHourUs;
        }
    }
    if (config_.partition_interval_s > 0) {
        std::vector<std::string> created;
        PgOutcome covered = partitions_.ensure(
            db_, batch_, static_cast<int>(config_.partition_interval_s / 3600), created);
        if (!created.empty() && partition_map_ != nullptr)
            partition_map_->invalidate();
        for (const std::string& name : created) {
            // Partitions are made ahead by the storage maintenance; this one was not
            // (a clock step, a replay of old messages, or the first start).
            log_.printf(LogLevel::kNotice,
                        "culex: created partition culex.%s for messages that had none.",
                        name.c_str());
        }
        if (!covered.ok())
            return covered;
    }
    return PgOutcome{};
}

IngestWriter::WriteResult IngestWriter::write_batch() {
    PgOutcome resolved = topic_ids_.resolve(db_, batch_, topic_ids_of_batch_);
    if (!resolved.ok()) {
        note_db_failure("registering topics", resolved);
        return WriteResult::kRetry;
    }
    PgOutcome prepared = prepare_batch();
    if (!prepared.ok()) {
        note_db_failure("preparing partitions", prepared);
        return WriteResult::kRetry;
    }
    if (batch_state_ == BatchState::kMaybeCommitted) {
        // A batch COPY is one transaction: its first and last rows tell about all rows.
        // Only first-without-last means earlier row-by-row work (possible for a batch
        // read back from the spool after a crash); rows mode sorts that out.
        bool first = false;
        bool last = false;
        PgOutcome checked = row_exists(0, first);
        if (checked.ok() && first)
            checked = row_exists(batch_.size() - 1, last);
        if (!checked.ok()) {
            note_db_failure("checking a batch interrupted by a lost connection", checked);
            return WriteResult::kRetry;
        }
        if (first && last) {
            stats_.stored += batch_.size();
            ++stats_.batches;
            return WriteResult::kDone;
        }
        batch_state_ = first ? BatchState::kRowByRow : BatchState::kFresh;
    }
    // Ids as the rows were stored stay with a batch found committed above.
    // Fresh ids for every attempt: a batch looked up and found unwritten is new again.
    PgOutcome assigned = message_ids_.assign(db_, batch_);
    if (!assigned.ok()) {
        note_db_failure("reserving record ids", assigned);
        return WriteResult::kRetry;
    }
    if (batch_state_ == BatchState::kRowByRow)
        return write_rows_one_by_one();
    begin_copy(copy_buffer_);
    for (size_t i = 0; i < batch_.size(); ++i) {
        const Message& m = batch_[i];
        append_copy_row(copy_buffer_, m, topic_ids_of_batch_[i], broker_db_id_,
                        config_.store_json && is_storable_json(m.payload));
    }
    finish_copy(copy_buffer_);
    const auto copy_started = SteadyClock::now();
    PgOutcome copied = db_.copy_in(kCopySql.c_str(), copy_buffer_);
    if (copied.ok()) {
        stats_.commit_seconds.observe(
            std::chrono::duration<double>(SteadyClock::now() - copy_started).count());
        stats_.batch_rows.observe(static_cast<double>(batch_.size()));
        stats_.stored += batch_.size();
        ++stats_.batches;
        return WriteResult::kDone;
    }
    if (copied.error == PgErrorKind::kBadRow && config_.partition_interval_s > 0 &&
        !partitions_checked_again_) {
        // A partition the writer knew of may have been dropped by retention meanwhile
        // (a replay of old messages); look again before blaming a row.
        partitions_checked_again_ = true;
        partitions_.forget();
        return write_batch();
    }
    if (copied.error == PgErrorKind::kBadRow) {
        batch_state_ = BatchState::kRowByRow;
        return write_rows_one_by_one();
    }
    if (copied.error == PgErrorKind::kConnection)
        batch_state_ = BatchState::kMaybeCommitted;
    note_db_failure("writing a batch of " + std::to_string(batch_.size()) + " messages", copied);
    return WriteResult::kRetry;
}

IngestWriter::WriteResult IngestWriter::write_rows_one_by_one() {
    // Rare path: some row in the batch was refused. Each row is its own COPY, so only
    // the offending row is affected, and each is looked up first, so that repeating
    // this after a lost connection or a crash stores nothing twice.
    for (size_t i = 0; i < batch_.size(); ++i) {
        const Message& m = batch_[i];
        bool exists = false;
        PgOutcome outcome = row_exists(i, exists);
        if (outcome.ok() && exists) {
            batch_[i].id = 0;  // stored by an earlier attempt, under another id
            ++stats_.stored;
            continue;
        }
        bool json = config_.store_json && is_storable_json(m.payload);
        if (outcome.ok())
            outcome = write_one_row(i, json);
        if (json && outcome.error == PgErrorKind::kBadRow) {
            outcome = write_one_row(i, false);
        }
        if (outcome.ok()) {
            ++stats_.stored;
            continue;
        }
        if (outcome.error == PgErrorKind::kBadRow) {
            ++stats_.refused_by_db;
            log_.printf(LogLevel::kError,
                        "culex: PostgreSQL refused the message on topic '%.200s' from client "
                        "'%.100s'; it is not stored: %s",
                        m.topic.c_str(), m.client_id.c_str(), outcome.message.c_str());
            continue;
        }
        // Rows before i are done; keep the rest (i's own outcome is looked up next time).
        // The next attempt resolves topics and ids for what is left.
        batch_.erase(batch_.begin(), batch_.begin() + static_cast<std::ptrdiff_t>(i));
        batch_size_ = batch_.size();
        note_db_failure("writing a refused batch row by row", outcome);
        return WriteResult::kRetry;
    }
    return WriteResult::kDone;
}

PgOutcome IngestWriter::write_one_row(size_t index, bool with_json) {
    begin_copy(copy_buffer_);
    append_copy_row(copy_buffer_, batch_[index], topic_ids_of_batch_[index], broker_db_id_,
                    with_json);
    finish_copy(copy_buffer_);
    return db_.copy_in(kCopySql.c_str(), copy_buffer_);
}

}  // namespace culex
