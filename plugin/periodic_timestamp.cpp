#include "periodic_timestamp.h"

#include <algorithm>

#include "common/clock.h"
#include "common/worker_thread.h"
#include "storage/schema_connect.h"
#include "storage/timestamp_slots.h"

namespace culex {
namespace {

int64_t wall_clock_ms() {
    return wall_clock_us() / 1000;
}

// The longest sleep between looks at the wall clock, so that a clock step forward
// delays a timestamp by at most this much.
constexpr int64_t kMaxSleepMs = 1000;

}  // namespace

PeriodicTimestamp::PeriodicTimestamp(const Config& config, BrokerOutbox& outbox, LogQueue& log)
    : config_(config), outbox_(outbox), log_(log), db_(config.db_conninfo) {}

PeriodicTimestamp::~PeriodicTimestamp() {
    stop();
}

void PeriodicTimestamp::start() {
    if (config_.timestamp_interval > 0)
        thread_ = start_worker_thread("culex-timestamp", config_.worker_priority, log_,
                                      [this] { run(); });
}

void PeriodicTimestamp::stop() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable())
        thread_.join();
}

void PeriodicTimestamp::run() {
    const int64_t interval_ms = config_.timestamp_interval * 1000;
    int64_t slot_ms = (wall_clock_ms() / interval_ms + 1) * interval_ms;
    // Connected before the first interval begins, so that it is claimed like the rest; on
    // a first start the storage writer may still be making the schema.
    reconnect();
    for (int64_t left_ms = slot_ms - wall_clock_ms(); schema_missing_ && left_ms > 0;
         left_ms = slot_ms - wall_clock_ms()) {
        std::unique_lock<std::mutex> lock(mu_);
        const auto wait = std::min(kSchemaPoll, std::chrono::milliseconds(left_ms));
        if (wake_.wait_for(lock, wait, [this] { return stopping_; }))
            return;
        lock.unlock();
        reconnect();
    }
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
        const int64_t wait_ms = slot_ms - wall_clock_ms();
        if (wait_ms > 0) {
            wake_.wait_for(lock, std::chrono::milliseconds(std::min(wait_ms, kMaxSleepMs)));
            continue;
        }
        lock.unlock();
        publish_if_claimed(slot_ms);
        lock.lock();
        slot_ms = std::max(slot_ms + interval_ms, wall_clock_ms() / interval_ms * interval_ms);
    }
}

void PeriodicTimestamp::publish_if_claimed(int64_t slot_ms) {
    // The database answered a moment ago, without the schema: asking again is quick,
    // and the writer may have made it since.
    if (!db_.is_open() && schema_missing_)
        reconnect();
    const bool connected = db_.is_open();
    const Claim claimed = connected ? claim(slot_ms) : Claim::kUnanswered;
    if (claimed == Claim::kLost)
        return;
    OutgoingMessage m;
    m.topic = config_.timestamp_topic;
    m.payload = std::to_string(wall_clock_ms());
    m.client_id = "culex";
    // Full or closed only when the broker is stopping or far behind; a timestamp that
    // cannot be queued now is worthless later.
    outbox_.push(std::move(m));
    // After the publish, so that a connection attempt (up to libpq's connect_timeout)
    // delays the next interval's claim rather than this timestamp.
    if (!connected || !db_.is_open())
        reconnect();
}

PeriodicTimestamp::Claim PeriodicTimestamp::claim(int64_t slot_ms) {
    bool won = false;
    PgOutcome outcome =
        claim_timestamp_slot(db_, config_.timestamp_topic, slot_ms, config_.broker_id, won);
    if (!outcome.ok()) {
        if (outcome.error == PgErrorKind::kConnection)
            db_.close();
        note_unanswered(outcome.message);
        return Claim::kUnanswered;
    }
    if (claims_failing_) {
        claims_failing_ = false;
        log_.printf(LogLevel::kNotice,
                    "culex: timestamp intervals are claimed in PostgreSQL again; one broker "
                    "publishes each.");
    }
    return won ? Claim::kWon : Claim::kLost;
}

void PeriodicTimestamp::reconnect() {
    const SchemaConnect attempt =
        connect_to_schema(db_, "SET statement_timeout = " + std::to_string(kClaimTimeout.count()));
    // Before the storage writer has made the schema (a first start) there is nothing to
    // claim in, which is no fault: this interval goes out unclaimed, quietly.
    schema_missing_ = attempt.state == SchemaConnectState::kSchemaNotYet;
    if (!attempt.ready() && !schema_missing_)
        note_unanswered(attempt.error);
}

void PeriodicTimestamp::note_unanswered(const std::string& why) {
    if (claims_failing_)
        return;
    claims_failing_ = true;
    log_.printf(LogLevel::kWarning,
                "culex: cannot claim the timestamp interval in PostgreSQL (%s); publishing "
                "timestamps without a claim until it answers (each broker on the database may "
                "publish one per interval meanwhile).",
                why.c_str());
}

}  // namespace culex
