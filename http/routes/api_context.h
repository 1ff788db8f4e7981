// What the API handlers share: the primary's pool, the standby for reads, the
// authenticator, the log and the settings. Owned by the plugin's Platform; outlives the HTTP
// server. Every member is safe to use from civetweb's worker threads.
#pragma once

#include <functional>

#include "common/config.h"
#include "common/log.h"
#include "common/outbox.h"
#include "http/server/auth.h"
#include "live_feed.h"
#include "notify/notify_stats.h"
#include "notify/target_policy.h"
#include "storage/ingest_stats.h"
#include "storage/maintenance_stats.h"
#include "storage/partition_map.h"
#include "storage/pg_pool.h"
#include "storage/read_replica.h"

namespace culex {

struct ApiContext {
    const Config& config;
    PgPool& pool;
    Authenticator& auth;
    LogQueue& log;
    // For /metrics; absent where there is no ingest path (tests of the API alone).
    const IngestStats* ingest = nullptr;
    std::function<size_t()> backlog;
    // Where HTTP publishes go; absent when there is no broker (publishing answers 503).
    BrokerOutbox* outbox = nullptr;
    // Messages as they arrive, for the live stream; absent without a broker.
    LiveFeed* live = nullptr;
    // Where webhooks may go, for checking rule definitions.
    const TargetPolicy* policy = nullptr;
    // Rule and delivery counters for /metrics; absent when rules are off.
    const NotifyStats* notify = nullptr;
    // Tells the dispatcher that deliveries were queued (e-mail, SMS); may be empty.
    std::function<void()> wake_deliveries;
    // Tells the rule matcher that culex.rules changed (committed), so the change applies
    // to the next message; may be empty.
    std::function<void()> rules_changed;
    // Partition upkeep and retention counters, for /metrics and GET /api/v1/storage;
    // absent in tests of the API alone.
    const MaintenanceStats* maintenance = nullptr;
    // The partitions reads go to directly (storage/partition_map.h); absent: reads use
    // the partitioned table.
    PartitionMap* partitions = nullptr;
    // Where the data reads go while it is fit (db_read_conninfo); absent: every read on
    // the primary. Reads go through run_read (replies.h), everything else through pool.
    ReadReplica* replica = nullptr;
};

}  // namespace culex
