#include "rule_matcher.h"

#include <cinttypes>

#include "common/worker_thread.h"
#include "delivery_request.h"
#include "storage/message_reads.h"
#include "storage/rule_store.h"
#include "storage/schema_connect.h"

namespace culex {
namespace {

using std::chrono::milliseconds;

// How often the matcher looks for NOTIFY culex_rules, and how often it reads the
// generation counter in case a notification was lost.
constexpr milliseconds kNotifyPoll{100};
constexpr milliseconds kReloadCheck{5000};

}  // namespace

RuleMatcher::RuleMatcher(const Config& config, LogQueue& log, NotifyStats& stats)
    : config_(config),
      log_(log),
      stats_(stats),
      db_(config.db_conninfo),
      backoff_(milliseconds(100), milliseconds(config.db_retry_max_ms)) {}

RuleMatcher::~RuleMatcher() {
    stop(milliseconds(0));
}

void RuleMatcher::start() {
    thread_ =
        start_worker_thread("culex-matcher", config_.worker_priority, log_, [this] { run(); });
}

void RuleMatcher::stop(milliseconds timeout) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_)
            return;
        stopping_ = true;
        stop_deadline_ = SteadyClock::now() + timeout;
    }
    wake_.notify_all();
    if (thread_.joinable())
        thread_.join();
    if (queued_messages_ > 0) {
        stats_.match_dropped += queued_messages_;
        log_.printf(LogLevel::kError,
                    "culex: %zu stored messages were not matched against rules at shutdown "
                    "(PostgreSQL unreachable); their rules did not fire.",
                    queued_messages_);
    }
}

void RuleMatcher::committed(std::vector<Message>& batch) {
    if (batch.empty() || !may_match_.load(std::memory_order_relaxed))
        return;
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_)
            return;
        if (queued_messages_ + batch.size() > config_.rules_queue_capacity) {
            stats_.match_dropped += batch.size();
            const auto now = SteadyClock::now();
            if (now - last_drop_log_ > std::chrono::seconds(10)) {
                last_drop_log_ = now;
                log_.printf(LogLevel::kError,
                            "culex: rule matching is %zu messages behind (rules_queue_capacity); "
                            "stored messages are not matched until PostgreSQL is reachable again.",
                            queued_messages_);
            }
            return;
        }
        queued_messages_ += batch.size();
        stats_.match_queue_depth = queued_messages_;
        queue_.push_back(std::move(batch));
    }
    batch.clear();
    wake_.notify_one();
}

void RuleMatcher::run() {
    while (true) {
        std::vector<Message> batch;
        {
            std::unique_lock<std::mutex> lock(mu_);
            wake_.wait_for(lock, kNotifyPoll, [this] { return stopping_ || !queue_.empty(); });
            if (stopping_ && (queue_.empty() || SteadyClock::now() >= stop_deadline_))
                return;
        }
        if (!db_.is_open() && !connect())
            continue;
        reload_rules_if_changed();
        {
            std::lock_guard<std::mutex> lock(mu_);
            if (queue_.empty())
                continue;
            batch = std::move(queue_.front());
        }
        // A change committed after the check above may already precede this batch.
        reload_rules_if_changed();
        if (!process(batch)) {
            std::unique_lock<std::mutex> lock(mu_);
            queue_.front() = std::move(batch);
            wake_.wait_for(lock, backoff_.next(), [this] { return stopping_; });
            continue;
        }
        backoff_.reset();
        std::lock_guard<std::mutex> lock(mu_);
        queue_.pop_front();
        queued_messages_ -= batch.size();
        stats_.match_queue_depth = queued_messages_;
    }
}

bool RuleMatcher::connect() {
    const SchemaConnect attempt = connect_to_schema(db_, "LISTEN culex_rules");
    if (attempt.ready()) {
        // Notifications sent while disconnected are lost: read the rules afresh.
        reload_now_ = true;
        return true;
    }
    // Until the storage writer has created the schema (a first start) there is nothing
    // to match against: ask again soon, without an error.
    const auto wait = retry_delay(attempt, backoff_);
    if (attempt.state == SchemaConnectState::kFailed)
        ++stats_.db_errors;
    std::unique_lock<std::mutex> lock(mu_);
    wake_.wait_for(lock, wait, [this] { return stopping_; });
    return false;
}

void RuleMatcher::rules_changed() {
    // In this order, so that a reload running now cannot leave may_match_ false: a batch
    // committed from here on must not be skipped.
    reload_now_ = true;
    may_match_ = true;
    wake_.notify_one();
}

void RuleMatcher::reload_rules_if_changed() {
    const auto now = SteadyClock::now();
    int notified = 0;
    if (PgOutcome polled = db_.take_notifications(notified); !polled.ok()) {
        ++stats_.db_errors;
        db_.close();
        return;
    }
    const bool due =
        notified > 0 || reload_now_.exchange(false) || !rules_ || now >= next_reload_check_;
    if (!due)
        return;
    next_reload_check_ = now + kReloadCheck;
    int64_t generation = 0;
    PgOutcome outcome = read_rules_generation(db_, generation);
    if (!outcome.ok()) {
        reload_now_ = true;
        ++stats_.db_errors;
        if (outcome.error == PgErrorKind::kConnection)
            db_.close();
        return;
    }
    if (generation == generation_)
        return;
    std::vector<RuleRow> rows;
    outcome = list_rules(db_, true, rows);
    if (!outcome.ok()) {
        reload_now_ = true;
        ++stats_.db_errors;
        if (outcome.error == PgErrorKind::kConnection)
            db_.close();
        return;
    }
    std::vector<Rule> rules;
    uint64_t invalid = 0;
    for (RuleRow& row : rows) {
        Result<Rule> rule = rule_from_stored(row.id, row.name, row.enabled, row.topic_filter,
                                             row.condition_json, row.actions_json, row.secret);
        if (!rule.is_ok()) {
            ++invalid;
            log_.printf(LogLevel::kWarning, "culex: rule %" PRId64 " (%s) is skipped: %s", row.id,
                        row.name.c_str(), rule.status().message().c_str());
            continue;
        }
        rules.push_back(std::move(rule.value()));
    }
    generation_ = generation;
    rules_ = std::make_shared<const RuleSet>(std::move(rules));
    stats_.rules_loaded = rules_->size();
    stats_.rules_invalid = invalid;
    may_match_ = !rules_->empty() || reload_now_;
}

bool RuleMatcher::process(const std::vector<Message>& batch) {
    if (!rules_ || rules_->empty())
        return rules_ != nullptr;
    const std::vector<Match> matches = match(batch);
    if (matches.empty())
        return true;
    // The writer gives the ids it stored; only a batch replayed from the spool that an
    // earlier run may have committed leaves some unknown, to be looked up.
    std::vector<int64_t> ids;
    std::vector<const Message*> unknown;
    for (const Match& m : matches) {
        ids.push_back(m.message->id);
        if (m.message->id == 0)
            unknown.push_back(m.message);
    }
    if (!unknown.empty()) {
        std::vector<int64_t> found;
        PgOutcome outcome = read_record_ids(db_, config_.broker_id, unknown, found);
        if (!outcome.ok()) {
            ++stats_.db_errors;
            if (outcome.error == PgErrorKind::kConnection)
                db_.close();
            return false;
        }
        for (size_t i = 0, k = 0; i < ids.size(); ++i) {
            if (ids[i] == 0)
                ids[i] = found[k++];
        }
    }
    return enqueue(deliveries_of(matches, ids), matches.size(), batch.size());
}

std::vector<RuleMatcher::Match> RuleMatcher::match(const std::vector<Message>& batch) const {
    std::vector<Match> matches;
    for (const Message& m : batch) {
        if (m.client_id == kRepublisherClientId)
            continue;
        std::vector<const Rule*> matched = rules_->match(m.topic, m.payload);
        if (!matched.empty())
            matches.push_back({&m, std::move(matched)});
    }
    return matches;
}

std::vector<NewDelivery> RuleMatcher::deliveries_of(const std::vector<Match>& matches,
                                                    const std::vector<int64_t>& ids) const {
    std::vector<NewDelivery> deliveries;
    for (size_t i = 0; i < matches.size(); ++i) {
        const StoredMessage stored = stored_from(*matches[i].message, config_.broker_id, ids[i]);
        for (const Rule* rule : matches[i].rules) {
            for (NewDelivery& d : deliveries_for(*rule, stored, config_.delivery_max_attempts))
                deliveries.push_back(std::move(d));
        }
    }
    return deliveries;
}

bool RuleMatcher::enqueue(const std::vector<NewDelivery>& deliveries, size_t matched,
                          size_t batch_size) {
    std::vector<int64_t> delivery_ids;
    PgOutcome outcome = enqueue_deliveries(db_, deliveries, delivery_ids);
    if (outcome.error == PgErrorKind::kBadRow) {
        // Retrying cannot help; the batch must not block every later one.
        stats_.match_dropped += batch_size;
        log_.printf(LogLevel::kError,
                    "culex: PostgreSQL refused the deliveries of %zu matched messages (%s); "
                    "their rules did not fire.",
                    matched, outcome.message.c_str());
        return true;
    }
    if (!outcome.ok()) {
        ++stats_.db_errors;
        log_.printf(LogLevel::kWarning, "culex: cannot queue rule deliveries, retrying: %s",
                    outcome.message.c_str());
        if (outcome.error == PgErrorKind::kConnection)
            db_.close();
        return false;
    }
    stats_.messages_matched += matched;
    stats_.deliveries_queued += deliveries.size();
    if (on_queued_)
        on_queued_();
    return true;
}

}  // namespace culex
