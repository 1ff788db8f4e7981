// Everything one loaded Culex plugin owns, wired together: config, ingest queue,
// intake, writer, storage maintenance, log queue, counters, the periodic timestamp, the
// rule matcher and delivery dispatcher (unless `rules` is off) and, unless http_listen is empty,
// the HTTP API (with its standby for reads when db_read_conninfo is set). Created in
// mosquitto_plugin_init and destroyed in mosquitto_plugin_cleanup, both on the broker thread. Free
// of mosquitto headers so it can be tested without a broker.
#pragma once

#include <memory>

#include "common/clock.h"
#include "common/config.h"
#include "common/log.h"
#include "common/outbox.h"
#include "http/routes/api.h"
#include "http/routes/live_feed.h"
#include "http/server/auth.h"
#include "http/server/server.h"
#include "loop_waker.h"
#include "message_intake.h"
#include "notify/delivery_dispatcher.h"
#include "notify/notify_stats.h"
#include "notify/rule_matcher.h"
#include "notify/target_policy.h"
#include "periodic_timestamp.h"
#include "storage/ingest_queue.h"
#include "storage/ingest_stats.h"
#include "storage/ingest_writer.h"
#include "storage/maintenance_stats.h"
#include "storage/partition_map.h"
#include "storage/pg_pool.h"
#include "storage/read_replica.h"
#include "storage/storage_maintenance.h"
#include "topic_selector.h"

namespace culex {

class Platform {
  public:
    explicit Platform(Config config);
    Platform(const Platform&) = delete;
    Platform& operator=(const Platform&) = delete;

    // Opens the spool, starts the HTTP server and the writer, all threads with signals
    // blocked. An error (one line naming the option) means nothing was started.
    Status start();
    // Stops the HTTP server, flushes the queue (bounded by shutdown_timeout_ms), stops the threads
    // and logs a summary. Broker thread, after the main loop has ended.
    void stop();

    // Messages accepted but not yet written.
    size_t backlog() const { return writer_.backlog(); }
    MessageIntake& intake() { return intake_; }
    // What the plugin publishes; the broker thread drains it on each tick.
    BrokerOutbox& outbox() { return outbox_; }
    LogQueue& log() { return log_; }
    const IngestStats& stats() const { return stats_; }
    const Config& config() const { return config_; }

  private:
    const Config config_;
    LogQueue log_;
    IngestStats stats_;
    // Which partitions hold which times, for the API's reads; told of changes by the
    // writer and the maintenance (declared before them, so it outlives both).
    PartitionMap partitions_;
    IngestQueue queue_;
    TopicSelector selector_;
    MessageIntake intake_;
    IngestWriter writer_;
    // Partition upkeep and retention, unless partitioning is off and nothing expires.
    MaintenanceStats maintenance_stats_;
    std::unique_ptr<StorageMaintenance> maintenance_;
    LoopWaker waker_;
    BrokerOutbox outbox_{10000};
    PeriodicTimestamp timestamp_{config_, outbox_, log_};
    LiveFeed live_;
    // Rules and deliveries, unless `rules` is off.
    NotifyStats notify_stats_;
    TargetPolicy policy_;
    std::unique_ptr<DeliveryDispatcher> dispatcher_;
    std::unique_ptr<RuleMatcher> matcher_;
    // The HTTP API, when enabled; declared in dependency order so they are destroyed
    // server first.
    std::unique_ptr<PgPool> api_pool_;
    // The standby for the API's reads, when db_read_conninfo is set.
    std::unique_ptr<ReadReplica> read_replica_;
    std::unique_ptr<Authenticator> auth_;
    std::unique_ptr<Api> api_;
    std::unique_ptr<HttpServer> http_;
};

}  // namespace culex
