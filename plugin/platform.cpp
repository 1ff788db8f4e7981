#include "platform.h"

#include <cinttypes>

#include "signal_block.h"

namespace culex {
namespace {

// How long shutdown lets the matcher turn its last batches into deliveries.
constexpr std::chrono::milliseconds kMatcherStopWait{3000};

}  // namespace

Platform::Platform(Config config)
    : config_(std::move(config)),
      queue_(config_.queue_capacity, config_.queue_max_bytes),
      selector_(config_.store_topics, config_.exclude_topics),
      intake_(selector_, config_.exclude_clients, queue_, stats_, log_, config_.queue_full),
      writer_(config_, queue_, log_, stats_),
      // Options were checked when parsed, so the lists parse.
      policy_(TargetPolicy::parse(config_.delivery_allow, config_.delivery_deny).value()) {
    intake_.set_observer([this] { return live_.subscribers() > 0; },
                         [this](const Message& m) { live_.offer(m); });
}

Status Platform::start() {
    Status spool = writer_.open_spool();
    if (!spool.is_ok())
        return Status::error("plugin_opt_spool_dir: " + spool.message());
    Status woken = waker_.install();
    if (!woken.is_ok())
        return woken;
    outbox_.set_waker([this] { waker_.wake(); });
    // libcurl's global state must be set up before any thread uses it.
    curl_global_init(CURL_GLOBAL_DEFAULT);
    SignalBlock block;
    if (config_.rules) {
        dispatcher_ =
            std::make_unique<DeliveryDispatcher>(config_, policy_, log_, notify_stats_, &outbox_);
        matcher_ = std::make_unique<RuleMatcher>(config_, log_, notify_stats_);
        matcher_->set_on_queued([this] { dispatcher_->wake(); });
        writer_.set_commit_observer(
            [this](std::vector<Message>& batch) { matcher_->committed(batch); });
    }
    if (!config_.http_listen.empty()) {
        api_pool_ = std::make_unique<PgPool>(
            config_.db_conninfo, static_cast<size_t>(config_.http_db_connections),
            std::chrono::milliseconds(config_.http_statement_timeout_ms));
        if (!config_.db_read_conninfo.empty()) {
            read_replica_ = std::make_unique<ReadReplica>(
                config_.db_read_conninfo, static_cast<size_t>(config_.http_db_connections),
                std::chrono::milliseconds(config_.http_statement_timeout_ms),
                config_.read_max_lag_ms, config_.worker_priority, log_);
            read_replica_->start();
        }
        auth_ = std::make_unique<Authenticator>(*api_pool_, config_.admin_token);
        api_ = std::make_unique<Api>(ApiContext{
            config_, *api_pool_, *auth_, log_, &stats_, [this] { return writer_.backlog(); },
            &outbox_, &live_, &policy_, config_.rules ? &notify_stats_ : nullptr,
            [this] {
                if (dispatcher_)
                    dispatcher_->wake();
            },
            [this] {
                if (matcher_)
                    matcher_->rules_changed();
            },
            &maintenance_stats_, &partitions_, read_replica_.get()});
        HttpSettings settings;
        settings.listen = config_.http_listen;
        settings.threads = config_.http_threads;
        settings.tls_cert = config_.http_tls_cert;
        settings.tls_key = config_.http_tls_key;
        settings.max_body_bytes = config_.http_max_body;
        settings.head_timeout = std::chrono::milliseconds(config_.http_request_head_timeout_ms);
        settings.max_connections = config_.http_max_connections;
        settings.max_connections_per_client = config_.http_max_connections_per_client;
        settings.cors_origins = config_.http_cors_origins;
        settings.priority = config_.worker_priority;
        http_ = std::make_unique<HttpServer>(
            settings, [this](Request& request) { return api_->handle(request); }, log_);
        Status served = http_->start();
        if (!served.is_ok())
            return served;
    }
    writer_.set_partition_map(&partitions_);
    writer_.start();
    // Always, since the time index of a migrated database is built by it.
    maintenance_ =
        std::make_unique<StorageMaintenance>(config_, log_, maintenance_stats_, &partitions_);
    maintenance_->start();
    timestamp_.start();
    if (config_.rules) {
        matcher_->start();
        dispatcher_->start();
    }
    return Status::ok();
}

void Platform::stop() {
    timestamp_.stop();
    outbox_.close();
    // Live streams end first: civetweb waits for its workers, which would otherwise sit
    // in a stream until its next heartbeat.
    live_.close();
    if (http_)
        http_->stop();
    if (read_replica_)
        read_replica_->stop();
    if (maintenance_)
        maintenance_->stop();
    uint64_t unwritten = writer_.stop(std::chrono::milliseconds(config_.shutdown_timeout_ms));
    // After the writer: its last batches still reach the matcher.
    if (matcher_)
        matcher_->stop(kMatcherStopWait);
    if (dispatcher_)
        dispatcher_->stop();
    if (unwritten > 0) {
        log_.printf(LogLevel::kError,
                    "culex: %" PRIu64
                    " messages could not be written to PostgreSQL within shutdown_timeout_ms "
                    "(%" PRId64 " ms) and are lost.",
                    unwritten, config_.shutdown_timeout_ms);
    }
    if (writer_.spool_file_count() > 0) {
        log_.printf(LogLevel::kNotice,
                    "culex: %zu spooled batches wait in %s and are written at the next start.",
                    writer_.spool_file_count(), config_.spool_dir.c_str());
    }
    log_.printf(LogLevel::kNotice,
                "culex: stopped. received %" PRIu64 ", stored %" PRIu64 ", not selected %" PRIu64
                ", excluded (exclude_clients) %" PRIu64 ", dropped (queue full) %" PRIu64
                ", refused to MQTT 5 publishers (queue full) %" PRIu64
                ", refused by PostgreSQL %" PRIu64 ", spooled %" PRIu64
                ", replayed from spool %" PRIu64 ", unwritten at shutdown %" PRIu64 ".",
                stats_.received.load(), stats_.stored.load(), stats_.filtered.load(),
                stats_.excluded.load(), stats_.dropped_queue_full.load(),
                stats_.rejected_queue_full.load(), stats_.refused_by_db.load(),
                stats_.spooled.load(), stats_.replayed.load(), unwritten);
}

}  // namespace culex
