// The periodic timestamp (timestamp_interval > 0, the book's M1), published once per
// interval by all the brokers that share a database together, not once by each.
//
// A thread of its own wakes at each boundary of the wall clock's intervals (multiples
// of timestamp_interval since the epoch, so brokers with synchronised clocks agree on
// them), claims the interval in the database (storage/timestamp_slots.h) and, when its
// claim wins, queues the timestamp on the broker outbox; the broker thread publishes
// and stores it on its next tick, as it does everything the plugin publishes. The
// broker thread never waits on the database.
//
// When a claim gets no answer (PostgreSQL unreachable, or slower than kClaimTimeout)
// the broker publishes anyway and logs it once: the timestamp never stops, and during
// an outage each broker publishes one per interval. On a first start the thread waits
// for the storage writer's schema until the first interval begins, and asks again at
// each interval; the intervals before it exists go out unclaimed without a warning. A wake-up later
// than an interval (a suspended machine, a clock step) publishes for the current interval and skips
// those already over.
//
// start() and stop() on the broker thread (plugin init and cleanup).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "common/config.h"
#include "common/log.h"
#include "common/outbox.h"
#include "storage/pg_connection.h"

namespace culex {

class PeriodicTimestamp {
  public:
    PeriodicTimestamp(const Config& config, BrokerOutbox& outbox, LogQueue& log);
    ~PeriodicTimestamp();
    PeriodicTimestamp(const PeriodicTimestamp&) = delete;
    PeriodicTimestamp& operator=(const PeriodicTimestamp&) = delete;

    // Starts the thread (call with signals blocked); nothing when timestamp_interval is 0.
    void start();
    // Ends the thread, after the claim or connection attempt in progress (bounded by
    // kClaimTimeout and libpq's connect_timeout of 5 s); its timestamp may still be queued.
    void stop();

    static constexpr std::chrono::milliseconds kClaimTimeout{500};

  private:
    enum class Claim { kWon, kLost, kUnanswered };

    void run();
    void publish_if_claimed(int64_t slot_ms);
    Claim claim(int64_t slot_ms);
    void reconnect();
    void note_unanswered(const std::string& why);

    const Config& config_;
    BrokerOutbox& outbox_;
    LogQueue& log_;
    PgConnection db_;
    bool claims_failing_ = false;
    bool schema_missing_ = false;  // the last connection found the schema not made yet
    std::mutex mu_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace culex
