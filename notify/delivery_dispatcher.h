// Sends due deliveries from culex.deliveries: webhooks, e-mail and SMS through one
// libcurl multi handle, republishes through the broker outbox. One thread with its own
// PostgreSQL connection.
//
// At most delivery_concurrency sends are in flight, at most delivery_per_target of them
// to one target, each bounded by delivery_timeout_ms, and an answer is read only as far
// as its first bytes: a receiver that hangs or fails holds a few slots for a timeout
// and costs a bounded amount of memory. A failed attempt is retried after exponential
// backoff with jitter until delivery_max_attempts, then the delivery is dead with its
// last error; a permanent failure (a target the policy refuses, a request that cannot
// be built) is dead at once. Sending is at-least-once: a crash between a send and its
// record sends it again once the claim's lease runs out.
// Lifecycle: construct, start(), stop(); wake() from any thread.
#pragma once

#include <curl/curl.h>

#include <atomic>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/config.h"
#include "common/log.h"
#include "common/outbox.h"
#include "notify_stats.h"
#include "storage/backoff.h"
#include "storage/delivery_store.h"
#include "storage/pg_connection.h"
#include "target_policy.h"
#include "transfer.h"

namespace culex {

class DeliveryDispatcher {
  public:
    // `outbox` may be null (no broker): republishes then fail.
    DeliveryDispatcher(const Config& config, const TargetPolicy& policy, LogQueue& log,
                       NotifyStats& stats, BrokerOutbox* outbox);
    ~DeliveryDispatcher();
    DeliveryDispatcher(const DeliveryDispatcher&) = delete;
    DeliveryDispatcher& operator=(const DeliveryDispatcher&) = delete;

    void start();
    // Stops claiming, waits up to a second for sends in flight, and gives back the
    // claims of those still running (due again at once, attempt not counted).
    void stop();
    // New deliveries are due now: look before the next poll. Any thread.
    void wake();

    // The delay before retry number `attempt` (1-based): delivery_retry_initial_ms
    // doubling per attempt up to delivery_retry_max_ms, then 50-100% of that (jitter).
    static int64_t retry_delay_ms(const Config& config, int attempt);

  private:
    void run();
    // Connects when disconnected and the backoff allows; never blocks past connecting.
    void connect_if_due();
    void claim_and_start();
    void start_one(const DeliveryRow& d);
    void republish(const DeliveryRow& d);
    void collect_finished();
    void record(int64_t id, int attempts, int max_attempts, const AttemptResult& result);
    void flush_outcomes();
    void housekeeping();
    void db_failed(const PgOutcome& outcome);

    const Config& config_;
    const TargetPolicy& policy_;
    LogQueue& log_;
    NotifyStats& stats_;
    BrokerOutbox* outbox_;
    PgConnection db_;
    Backoff backoff_;
    CURLM* multi_ = nullptr;
    struct InFlight {
        std::unique_ptr<Transfer> transfer;
        int attempts = 0;
        int max_attempts = 0;
    };
    std::map<CURL*, InFlight> in_flight_;
    std::map<std::string, int> per_target_;
    // Outcomes not yet written; flushed in one statement per loop turn.
    std::vector<DeliveryOutcome> outcomes_;
    SteadyClock::time_point next_claim_{};
    SteadyClock::time_point next_connect_{};
    SteadyClock::time_point next_housekeeping_{};
    SteadyClock::time_point next_cleanup_{};
    SteadyClock::time_point last_db_log_{};
    std::atomic<bool> stopping_{false};
    std::atomic<bool> woken_{false};
    std::thread thread_;
};

}  // namespace culex
