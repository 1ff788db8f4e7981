#include "read_replica.h"

#include "common/worker_thread.h"
#include "migrations.h"

namespace culex {
namespace {

constexpr auto kCheckInterval = std::chrono::seconds(1);
// WAL that has just arrived makes an idle standby look as far behind as the primary was
// idle, until it is replayed a moment later: a lag is believed when it persists this long.
constexpr auto kLagRecheck = std::chrono::milliseconds(100);
// A verdict this old means the check itself hangs (a standby that accepts connections
// but does not answer): reads go to the primary.
constexpr auto kVerdictExpiry = std::chrono::seconds(3);
constexpr auto kReplayPoll = std::chrono::milliseconds(10);

}  // namespace

ReadReplica::ReadReplica(std::string conninfo, size_t connections,
                         std::chrono::milliseconds statement_timeout, int64_t max_lag_ms,
                         WorkerPriority priority, LogQueue& log)
    : conninfo_(std::move(conninfo)),
      max_lag_ms_(max_lag_ms),
      priority_(priority),
      log_(log),
      // The standby cannot migrate; the monitor checks that its schema is current.
      pool_(conninfo_, connections, statement_timeout, PgPool::Schema::kAsIs) {}

ReadReplica::~ReadReplica() {
    stop();
}

void ReadReplica::start() {
    thread_ = start_worker_thread("culex-replica", priority_, log_, [this] { run(); });
}

void ReadReplica::stop() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable())
        thread_.join();
}

bool ReadReplica::up() {
    std::lock_guard<std::mutex> lock(mu_);
    return up_locked();
}

bool ReadReplica::up_locked() {
    if (up_.value_or(false) && std::chrono::steady_clock::now() - checked_at_ > kVerdictExpiry)
        set_up_locked(false, "has not answered its status check for 3 s");
    return up_.value_or(false);
}

Result<PgPool::Lease> ReadReplica::lease(std::chrono::milliseconds wait,
                                         const std::string& replayed_lsn) {
    if (!up())
        return Status::error("reads go to the primary");
    const auto deadline = std::chrono::steady_clock::now() + wait;
    Result<PgPool::Lease> lease = pool_.acquire(wait);
    if (!lease.is_ok() || replayed_lsn.empty())
        return lease;
    while (true) {
        bool replayed = false;
        PgOutcome outcome = read_replayed_to(lease.value().db(), replayed_lsn, replayed);
        if (!outcome.ok()) {
            if (outcome.error == PgErrorKind::kConnection)
                lease.value().discard();
            return Status::error(outcome.message);
        }
        if (replayed)
            return lease;
        if (std::chrono::steady_clock::now() >= deadline)
            return Status::error("the standby has not replayed the primary's latest commits");
        std::this_thread::sleep_for(kReplayPoll);
    }
}

void ReadReplica::count_read(bool on_standby, bool retried) {
    (on_standby ? standby_reads_ : primary_reads_).fetch_add(1, std::memory_order_relaxed);
    if (retried)
        retries_.fetch_add(1, std::memory_order_relaxed);
}

ReadReplica::Stats ReadReplica::stats() {
    Stats s;
    {
        std::lock_guard<std::mutex> lock(mu_);
        s.up = up_locked();
        s.fallbacks = fallbacks_;
        s.lag_ms = lag_ms_;
    }
    s.retries = retries_.load(std::memory_order_relaxed);
    s.standby_reads = standby_reads_.load(std::memory_order_relaxed);
    s.primary_reads = primary_reads_.load(std::memory_order_relaxed);
    return s;
}

void ReadReplica::run() {
    PgConnection db(conninfo_);
    bool schema_current = false;
    do {
        StandbyJudgement judged = check(db, schema_current);
        if (judged.verdict == StandbyVerdict::kLagging) {
            if (!pause(kLagRecheck))
                break;
            judged = check(db, schema_current);
        }
        std::lock_guard<std::mutex> lock(mu_);
        checked_at_ = std::chrono::steady_clock::now();
        set_up_locked(judged.verdict == StandbyVerdict::kFit, judged.why);
    } while (pause(kCheckInterval));
}

StandbyJudgement ReadReplica::check(PgConnection& db, bool& schema_current) {
    if (!db.is_open()) {
        Status connected = db.connect();
        if (!connected.is_ok())
            return {StandbyVerdict::kUnfit, "is unreachable (" + connected.message() + ")"};
    }
    PgOutcome outcome;
    if (!schema_current) {
        outcome = schema_is_current(db, schema_current);
        if (outcome.ok() && !schema_current)
            return {StandbyVerdict::kUnfit, "has not replayed the current culex schema yet"};
    }
    StandbyStatus status;
    if (outcome.ok())
        outcome = read_standby_status(db, status);
    {
        std::lock_guard<std::mutex> lock(mu_);
        lag_ms_ = outcome.ok() ? status.lag_ms : std::nullopt;
    }
    if (!outcome.ok()) {
        if (outcome.error == PgErrorKind::kConnection)
            db.close();
        return {StandbyVerdict::kUnfit,
                "does not answer its status check (" + outcome.message + ")"};
    }
    return judge_standby(status, max_lag_ms_);
}

void ReadReplica::set_up_locked(bool up, const std::string& why) {
    if (up_ == up)
        return;
    const bool was_up = up_.value_or(false);
    up_ = up;
    if (up) {
        log_.printf(LogLevel::kNotice,
                    "culex: the HTTP API's reads go to the standby (plugin_opt_db_read_conninfo).");
        return;
    }
    if (was_up)
        ++fallbacks_;
    log_.printf(LogLevel::kWarning,
                "culex: the HTTP API's reads go to the primary: the standby "
                "(plugin_opt_db_read_conninfo) %s.",
                why.c_str());
}

bool ReadReplica::pause(std::chrono::milliseconds how_long) {
    std::unique_lock<std::mutex> lock(mu_);
    return !wake_.wait_for(lock, how_long, [this] { return stopping_; });
}

}  // namespace culex
