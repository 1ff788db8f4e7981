// Matches committed messages against the rules and writes a delivery for each action
// of each match to the outbox table. One thread with its own PostgreSQL connection.
//
// The storage writer hands over each batch after its commit (committed(), which never
// blocks): rules fire for stored messages only, carry their record ids, and cost the
// broker thread nothing. A change made through this broker's API takes effect for every
// batch committed after rules_changed() returns; changes made elsewhere arrive as
// NOTIFY culex_rules (sent by the rules table's trigger) within kNotifyPoll, and the
// generation counter (culex.rules_generation) is polled as a fallback for notifications
// lost while disconnected. Messages a rule republishes
// are not matched again (client id kRepublisherClientId), so rules cannot loop.
//
// While PostgreSQL is unreachable the matcher keeps batches in memory up to
// rules_queue_capacity messages; past that, whole batches are dropped unmatched,
// counted (match_dropped) and logged. Lifecycle: construct, start(), stop().
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/config.h"
#include "common/log.h"
#include "common/message.h"
#include "notify_stats.h"
#include "rule_set.h"
#include "storage/backoff.h"
#include "storage/delivery_store.h"
#include "storage/pg_connection.h"

namespace culex {

// The client id of messages published by republish actions.
inline constexpr const char* kRepublisherClientId = "$culex-rule";

class RuleMatcher {
  public:
    RuleMatcher(const Config& config, LogQueue& log, NotifyStats& stats);
    ~RuleMatcher();
    RuleMatcher(const RuleMatcher&) = delete;
    RuleMatcher& operator=(const RuleMatcher&) = delete;

    // Called after deliveries were written (the dispatcher's wake-up). Before start().
    void set_on_queued(std::function<void()> on_queued) { on_queued_ = std::move(on_queued); }

    void start();
    // Matches what is queued for up to `timeout`, then stops; what is left is dropped
    // (counted and logged).
    void stop(std::chrono::milliseconds timeout);

    // Writer thread, after `batch` committed: takes its messages (leaving it empty) when
    // rules may match them. Never blocks on the database.
    void committed(std::vector<Message>& batch);
    // Any thread, after a change to culex.rules committed: the rules are reloaded before
    // the next batch is matched. Never blocks on the database.
    void rules_changed();

  private:
    void run();
    // Connects, waits for the schema and LISTENs; false to try again later.
    bool connect();
    void reload_rules_if_changed();
    // A stored message and the rules it matched.
    struct Match {
        const Message* message;
        std::vector<const Rule*> rules;
    };
    // Matches, looks up the record ids, writes the deliveries. False when the database
    // failed; the batch is then tried again.
    bool process(const std::vector<Message>& batch);
    std::vector<Match> match(const std::vector<Message>& batch) const;
    // One delivery per action of each match; ids[i] is the record id of matches[i].
    std::vector<NewDelivery> deliveries_of(const std::vector<Match>& matches,
                                           const std::vector<int64_t>& ids) const;
    // Writes the deliveries of `matched` messages of a batch; false to try again.
    bool enqueue(const std::vector<NewDelivery>& deliveries, size_t matched, size_t batch_size);

    const Config& config_;
    LogQueue& log_;
    NotifyStats& stats_;
    std::function<void()> on_queued_;
    PgConnection db_;
    Backoff backoff_;
    std::shared_ptr<const RuleSet> rules_;  // matcher thread only
    int64_t generation_ = -1;
    SteadyClock::time_point next_reload_check_{};
    std::atomic<bool> reload_now_{true};  // a change (or a reconnect) since the last load
    // False only once a load found no enabled rule: committed() then skips batches.
    std::atomic<bool> may_match_{true};

    std::mutex mu_;
    std::condition_variable wake_;
    std::deque<std::vector<Message>> queue_;
    size_t queued_messages_ = 0;
    bool stopping_ = false;
    SteadyClock::time_point stop_deadline_{};
    SteadyClock::time_point last_drop_log_{};
    std::thread thread_;
};

}  // namespace culex
