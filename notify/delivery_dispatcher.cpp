#include "delivery_dispatcher.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <cinttypes>
#include <random>

#include "common/base64.h"
#include "common/topic_filter.h"
#include "common/worker_thread.h"
#include "rule_matcher.h"
#include "storage/delivery_store.h"
#include "storage/schema_connect.h"

namespace culex {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kIdlePoll{500};
constexpr milliseconds kStopGrace{1000};
constexpr std::chrono::seconds kCountEvery{5};
constexpr std::chrono::seconds kCleanupEvery{60};
// A claim outlives its attempt's timeout by this much before another broker may take it.
constexpr int64_t kLeaseMarginMs = 30000;

}  // namespace

DeliveryDispatcher::DeliveryDispatcher(const Config& config, const TargetPolicy& policy,
                                       LogQueue& log, NotifyStats& stats, BrokerOutbox* outbox)
    : config_(config),
      policy_(policy),
      log_(log),
      stats_(stats),
      outbox_(outbox),
      db_(config.db_conninfo),
      backoff_(milliseconds(100), milliseconds(config.db_retry_max_ms)) {}

DeliveryDispatcher::~DeliveryDispatcher() {
    stop();
}

int64_t DeliveryDispatcher::retry_delay_ms(const Config& config, int attempt) {
    int64_t delay = config.delivery_retry_initial_ms;
    for (int i = 1; i < attempt && delay < config.delivery_retry_max_ms; ++i)
        delay *= 2;
    delay = std::min(delay, config.delivery_retry_max_ms);
    thread_local std::minstd_rand rng{std::random_device{}()};
    std::uniform_int_distribution<int64_t> jitter(delay / 2, delay);
    return jitter(rng);
}

void DeliveryDispatcher::start() {
    multi_ = curl_multi_init();
    thread_ =
        start_worker_thread("culex-dispatch", config_.worker_priority, log_, [this] { run(); });
}

void DeliveryDispatcher::stop() {
    if (stopping_.exchange(true))
        return;
    wake();
    if (thread_.joinable())
        thread_.join();
    if (multi_ != nullptr)
        curl_multi_cleanup(multi_);
    multi_ = nullptr;
}

void DeliveryDispatcher::wake() {
    woken_ = true;
    if (multi_ != nullptr)
        curl_multi_wakeup(multi_);
}

void DeliveryDispatcher::db_failed(const PgOutcome& outcome) {
    ++stats_.db_errors;
    const auto now = SteadyClock::now();
    if (now - last_db_log_ > std::chrono::seconds(30)) {
        last_db_log_ = now;
        log_.printf(LogLevel::kWarning, "culex: deliveries wait: PostgreSQL: %s",
                    outcome.message.c_str());
    }
    if (outcome.error == PgErrorKind::kConnection)
        db_.close();
}

void DeliveryDispatcher::connect_if_due() {
    const auto now = SteadyClock::now();
    if (db_.is_open() || now < next_connect_)
        return;
    // Claims and outcomes need not wait for the WAL flush: if PostgreSQL loses the last
    // of them in a crash, a claim's lease runs out or an outcome is missing and the
    // delivery is sent again, which at-least-once allows. This halves the dispatcher's
    // cost per delivery on a disk with slow fsync.
    const SchemaConnect attempt = connect_to_schema(db_, "SET synchronous_commit = off");
    if (attempt.state == SchemaConnectState::kFailed)
        db_failed(PgOutcome{nullptr, PgErrorKind::kOther, attempt.error});
    next_connect_ = now + retry_delay(attempt, backoff_);
}

void DeliveryDispatcher::run() {
    while (!stopping_) {
        // Sends in flight go on while the database is away; only claims and records wait.
        connect_if_due();
        const auto now = SteadyClock::now();
        if (db_.is_open() && (woken_.exchange(false) || now >= next_claim_))
            claim_and_start();
        int running = 0;
        curl_multi_perform(multi_, &running);
        collect_finished();
        if (db_.is_open()) {
            flush_outcomes();
            housekeeping();
        }
        const int wait_ms = in_flight_.empty() ? static_cast<int>(kIdlePoll.count()) : 50;
        curl_multi_poll(multi_, nullptr, 0, wait_ms, nullptr);
    }
    // Let sends in flight finish briefly; give back the claims of the rest.
    const auto deadline = SteadyClock::now() + kStopGrace;
    while (!in_flight_.empty() && SteadyClock::now() < deadline) {
        int running = 0;
        curl_multi_perform(multi_, &running);
        collect_finished();
        curl_multi_poll(multi_, nullptr, 0, 20, nullptr);
    }
    flush_outcomes();
    std::vector<int64_t> unfinished;
    for (auto& [easy, flight] : in_flight_) {
        unfinished.push_back(flight.transfer->delivery_id());
        curl_multi_remove_handle(multi_, easy);
    }
    in_flight_.clear();
    if (!unfinished.empty() && db_.is_open()) {
        PgOutcome released = release_claims(db_, unfinished);
        if (!released.ok())
            db_failed(released);
    }
}

void DeliveryDispatcher::claim_and_start() {
    next_claim_ = SteadyClock::now() + kIdlePoll;
    const size_t free_slots = static_cast<size_t>(config_.delivery_concurrency) - in_flight_.size();
    if (free_slots == 0)
        return;
    std::vector<std::string> busy;
    for (const auto& [target, count] : per_target_) {
        if (count >= config_.delivery_per_target)
            busy.push_back(target);
    }
    std::vector<DeliveryRow> claimed;
    PgOutcome outcome =
        claim_due(db_, free_slots, config_.delivery_timeout_ms + kLeaseMarginMs, busy, claimed);
    if (!outcome.ok()) {
        db_failed(outcome);
        return;
    }
    std::vector<int64_t> not_now;
    for (const DeliveryRow& d : claimed) {
        auto busy_target = per_target_.find(d.target);
        if (busy_target != per_target_.end() &&
            busy_target->second >= config_.delivery_per_target) {
            not_now.push_back(d.id);
            continue;
        }
        start_one(d);
    }
    flush_outcomes();
    if (!not_now.empty()) {
        PgOutcome released = release_claims(db_, not_now);
        if (!released.ok())
            db_failed(released);
    }
    // A full claim suggests more are due: look again without waiting.
    if (claimed.size() == free_slots)
        next_claim_ = SteadyClock::now();
}

void DeliveryDispatcher::start_one(const DeliveryRow& d) {
    ++stats_.attempts;
    if (d.kind == DeliveryKind::kRepublish) {
        republish(d);
        return;
    }
    Result<std::unique_ptr<Transfer>> transfer = Transfer::prepare(d, config_, policy_);
    if (!transfer.is_ok()) {
        AttemptResult failed;
        failed.permanent = true;
        failed.error = transfer.status().message();
        record(d.id, d.attempts, d.max_attempts, failed);
        return;
    }
    CURL* easy = transfer.value()->easy();
    ++per_target_[d.target];
    in_flight_[easy] = InFlight{std::move(transfer.value()), d.attempts, d.max_attempts};
    curl_multi_add_handle(multi_, easy);
}

void DeliveryDispatcher::republish(const DeliveryRow& d) {
    AttemptResult result;
    rapidjson::Document r;
    r.Parse(d.request_json.data(), d.request_json.size());
    std::optional<std::string> payload;
    if (!r.HasParseError() && r.IsObject() && r.HasMember("payload_base64") &&
        r["payload_base64"].IsString())
        payload = base64_decode(r["payload_base64"].GetString());
    const bool well_formed = payload && r.HasMember("topic") && r["topic"].IsString() &&
                             r.HasMember("qos") && r["qos"].IsInt() && r.HasMember("retain") &&
                             r["retain"].IsBool();
    if (!well_formed) {
        result.permanent = true;
        result.error = "the stored republish request is malformed";
        record(d.id, d.attempts, d.max_attempts, result);
        return;
    }
    OutgoingMessage m;
    m.topic.assign(r["topic"].GetString(), r["topic"].GetStringLength());
    m.payload = std::move(*payload);
    m.qos = r["qos"].GetInt();
    m.retain = r["retain"].GetBool();
    m.client_id = kRepublisherClientId;
    if (Status valid = validate_topic_name(m.topic); !valid.is_ok()) {
        result.permanent = true;
        result.error = "cannot publish to '" + m.topic + "': " + valid.message();
    } else if (outbox_ == nullptr) {
        result.permanent = true;
        result.error = "no broker to publish through";
    } else if (!outbox_->push(std::move(m))) {
        result.error = "the broker outbox is full or closed";
    } else {
        result.delivered = true;
    }
    record(d.id, d.attempts, d.max_attempts, result);
}

void DeliveryDispatcher::collect_finished() {
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL* easy = msg->easy_handle;
        const CURLcode code = msg->data.result;
        curl_multi_remove_handle(multi_, easy);
        auto it = in_flight_.find(easy);
        if (it == in_flight_.end())
            continue;
        const AttemptResult result = it->second.transfer->result(code);
        if (--per_target_[it->second.transfer->target()] <= 0)
            per_target_.erase(it->second.transfer->target());
        record(it->second.transfer->delivery_id(), it->second.attempts, it->second.max_attempts,
               result);
        in_flight_.erase(it);
        next_claim_ = SteadyClock::now();
    }
}

void DeliveryDispatcher::record(int64_t id, int attempts, int max_attempts,
                                const AttemptResult& result) {
    DeliveryOutcome outcome;
    outcome.id = id;
    outcome.delivered = result.delivered;
    outcome.status = result.status;
    outcome.error = result.error;
    if (result.delivered) {
        ++stats_.delivered;
    } else {
        ++stats_.failed_attempts;
        if (result.permanent || attempts >= max_attempts) {
            ++stats_.dead;
            log_.printf(LogLevel::kWarning,
                        "culex: delivery %" PRId64 " is dead after %d attempt(s): %s", id, attempts,
                        result.error.c_str());
        } else {
            outcome.retry_in_ms = retry_delay_ms(config_, attempts);
        }
    }
    outcomes_.push_back(std::move(outcome));
}

void DeliveryDispatcher::flush_outcomes() {
    if (outcomes_.empty() || !db_.is_open())
        return;
    PgOutcome written = record_outcomes(db_, outcomes_);
    // Kept for the next turn when not written; should they be lost with the broker, the
    // claims' leases run out and the deliveries are sent again.
    if (!written.ok()) {
        db_failed(written);
        return;
    }
    outcomes_.clear();
}

void DeliveryDispatcher::housekeeping() {
    const auto now = SteadyClock::now();
    if (now < next_housekeeping_)
        return;
    next_housekeeping_ = now + kCountEvery;
    std::vector<std::pair<DeliveryState, int64_t>> counts;
    PgOutcome outcome = count_deliveries(db_, counts);
    if (!outcome.ok()) {
        db_failed(outcome);
        return;
    }
    for (const auto& [state, n] : counts) {
        switch (state) {
            case DeliveryState::kPending:
                stats_.state_pending = n;
                break;
            case DeliveryState::kSending:
                stats_.state_sending = n;
                break;
            case DeliveryState::kDelivered:
                stats_.state_delivered = n;
                break;
            case DeliveryState::kDead:
                stats_.state_dead = n;
                break;
        }
    }
    if (now < next_cleanup_)
        return;
    next_cleanup_ = now + kCleanupEvery;
    int64_t removed = 0;
    outcome = remove_finished_deliveries(db_, config_.delivery_retention_s, removed);
    if (!outcome.ok())
        db_failed(outcome);
}

}  // namespace culex
