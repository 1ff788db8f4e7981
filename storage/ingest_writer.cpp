#include "ingest_writer.h"

#include <cinttypes>
#include <utility>

#include "copy_encoder.h"
#include "json_check.h"
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
    thread_ = std::thread([this] { run(); });
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
    return batch_.size() + queue_.size();
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
        if (batch_.empty()) {
            batch_maybe_committed_ = false;
            queue_.pop_batch(batch_, config_.batch_max_rows, milliseconds(config_.batch_max_ms),
                             kIdleWait);
            batch_size_ = batch_.size();
            if (batch_.empty()) {
                std::lock_guard<std::mutex> lock(stop_mu_);
                if (stopping_)
                    return;  // closed and drained
                continue;
            }
        }
        if (ensure_ready() && write_batch() == WriteResult::kDone) {
            batch_.clear();
            batch_size_ = 0;
            backoff_.reset();
            continue;
        }
        wait_before_retry();
    }
}

void IngestWriter::wait_before_retry() {
    std::unique_lock<std::mutex> lock(stop_mu_);
    auto until = SteadyClock::now() + backoff_.next();
    if (stopping_ && stop_deadline_ < until)
        until = stop_deadline_;
    stop_cv_.wait_until(lock, until);
}

void IngestWriter::note_db_failure(const std::string& what, const PgOutcome& outcome) {
    ++stats_.db_errors;
    if (outcome.error == PgErrorKind::kConnection)
        ready_ = false;
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

bool IngestWriter::batch_already_committed(bool& committed) {
    // Every batch is one transaction, so its first row tells about all of them. The
    // topic index finds it; broker and seq tell it from other messages of that instant.
    const Message& first = batch_.front();
    PgOutcome found = db_.exec(
        "SELECT 1 FROM culex.message_store WHERE topic_id = $1 AND received_at ="
        " timestamptz 'epoch' + $2::bigint * interval '1 microsecond'"
        " AND broker_id = $3 AND seq = $4",
        {std::to_string(topic_ids_of_batch_.front()), std::to_string(first.received_us),
         std::to_string(broker_db_id_), std::to_string(first.seq)});
    if (!found.ok()) {
        note_db_failure("checking a batch interrupted by a lost connection", found);
        return false;
    }
    committed = PQntuples(found.result.get()) > 0;
    return true;
}

IngestWriter::WriteResult IngestWriter::write_batch() {
    PgOutcome resolved = topic_ids_.resolve(db_, batch_, topic_ids_of_batch_);
    if (!resolved.ok()) {
        note_db_failure("registering topics", resolved);
        return WriteResult::kRetry;
    }
    if (batch_maybe_committed_) {
        bool committed = false;
        if (!batch_already_committed(committed))
            return WriteResult::kRetry;
        batch_maybe_committed_ = false;
        if (committed) {
            stats_.stored += batch_.size();
            ++stats_.batches;
            return WriteResult::kDone;
        }
    }
    begin_copy(copy_buffer_);
    for (size_t i = 0; i < batch_.size(); ++i) {
        const Message& m = batch_[i];
        append_copy_row(copy_buffer_, m, topic_ids_of_batch_[i], broker_db_id_,
                        config_.store_json && is_storable_json(m.payload));
    }
    finish_copy(copy_buffer_);
    PgOutcome copied = db_.copy_in(kCopySql.c_str(), copy_buffer_);
    if (copied.ok()) {
        stats_.stored += batch_.size();
        ++stats_.batches;
        return WriteResult::kDone;
    }
    if (copied.error == PgErrorKind::kBadRow)
        return write_rows_one_by_one();
    if (copied.error == PgErrorKind::kConnection)
        batch_maybe_committed_ = true;
    note_db_failure("writing a batch of " + std::to_string(batch_.size()) + " messages", copied);
    return WriteResult::kRetry;
}

IngestWriter::WriteResult IngestWriter::write_rows_one_by_one() {
    // Rare path: some row in the batch was refused. Write each row as its own COPY so
    // that only the offending row is affected. Rows written here leave the batch, so a
    // retry after a lost connection does not repeat them.
    size_t done = 0;
    WriteResult result = WriteResult::kDone;
    for (; done < batch_.size(); ++done) {
        const Message& m = batch_[done];
        bool json = config_.store_json && is_storable_json(m.payload);
        PgOutcome outcome = write_one_row(m, topic_ids_of_batch_[done], json);
        if (json && outcome.error == PgErrorKind::kBadRow) {
            outcome = write_one_row(m, topic_ids_of_batch_[done], false);
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
        batch_maybe_committed_ = outcome.error == PgErrorKind::kConnection;
        note_db_failure("writing a refused batch row by row", outcome);
        result = WriteResult::kRetry;
        break;
    }
    batch_.erase(batch_.begin(), batch_.begin() + static_cast<std::ptrdiff_t>(done));
    batch_size_ = batch_.size();
    return result;
}

PgOutcome IngestWriter::write_one_row(const Message& m, int32_t topic_id, bool with_json) {
    begin_copy(copy_buffer_);
    append_copy_row(copy_buffer_, m, topic_id, broker_db_id_, with_json);
    finish_copy(copy_buffer_);
    return db_.copy_in(kCopySql.c_str(), copy_buffer_);
}

}  // namespace culex
