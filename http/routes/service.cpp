// Service endpoints: liveness, readiness, the OpenAPI document, the docs page and / (a
// redirect to it) (open), and /metrics (read scope).
#include <cinttypes>

#include "docs_page.h"
#include "http/server/http_metrics.h"
#include "http/server/problem.h"
#include "http/server/prometheus_text.h"
#include "http_assets.h"
#include "replies.h"
#include "routes.h"

namespace culex {
namespace {

Response text(const char* content_type, const char* body) {
    Response r;
    r.content_type = content_type;
    r.body = body;
    return r;
}

// Where a browser (or anyone) lands: the docs page, and for a client that does not follow
// redirects, the entry points by name.
Response front_door() {
    Response r = text("application/json",
                      R"({"docs":"/docs","openapi":"/api/v1/openapi.json","api":"/api/v1"})");
    r.status = 302;
    r.headers.emplace_back("Location", "/docs");
    return r;
}

// The page is rendered once, here; it is static like the document it comes from. Its CSS
// is inline, and it has no script at all.
Handler docs_page(ApiContext& ctx) {
    Result<std::string> page = render_docs_page(kOpenApiJson, kDocsHtml);
    if (!page.is_ok()) {
        ctx.log.printf(LogLevel::kError, "culex: cannot render /docs: %s",
                       page.status().message().c_str());
        return [](Request&, const Principal&) {
            return problem(500, "the docs page cannot be rendered; the broker log has the cause");
        };
    }
    return [body = std::move(page.value())](Request&, const Principal&) {
        Response r;
        r.content_type = "text/html; charset=utf-8";
        r.body = body;
        r.headers.emplace_back("Content-Security-Policy",
                               "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
                               "form-action 'none'; frame-ancestors 'none'");
        return r;
    };
}

Response ready(ApiContext& ctx) {
    HttpResult<PgPool::Lease> lease = lease_connection(ctx, std::chrono::seconds(2));
    if (!lease.is_ok())
        return lease.error();
    PgOutcome outcome = lease.value().db().exec("SELECT 1");
    if (!outcome.ok()) {
        lease.value().discard();
        return problem(503, "the database does not answer; try again shortly");
    }
    return text("application/json", "{\"status\":\"ready\"}");
}

Response metrics_page(ApiContext& ctx, const HttpMetrics& http) {
    std::string out;
    if (ctx.ingest != nullptr) {
        const IngestStats& s = *ctx.ingest;
        auto counter = [&out](const char* name, const char* help, uint64_t value) {
            prometheus_header(out, name, "counter", help);
            prometheus_sample(out, name, {}, static_cast<double>(value));
        };
        counter("culex_messages_received_total", "PUBLISH messages the broker passed to Culex.",
                s.received);
        counter("culex_messages_not_selected_total",
                "Messages not stored because of store_topics/exclude_topics.", s.filtered);
        counter("culex_messages_excluded_total",
                "Messages delivered but not stored because their client is in exclude_clients "
                "(bridges from brokers that store them).",
                s.excluded);
        counter("culex_messages_stored_total", "Messages committed to PostgreSQL.", s.stored);
        counter("culex_messages_spooled_total", "Messages written to the disk spool.", s.spooled);
        counter("culex_messages_replayed_total", "Spooled messages since stored.", s.replayed);
        prometheus_header(out, "culex_messages_dropped_total", "counter",
                          "Messages that will never be stored, by cause.");
        prometheus_sample(out, "culex_messages_dropped_total", {{"cause", "queue_full"}},
                          static_cast<double>(s.dropped_queue_full));
        prometheus_sample(out, "culex_messages_dropped_total", {{"cause", "refused_by_database"}},
                          static_cast<double>(s.refused_by_db));
        counter("culex_messages_rejected_total",
                "MQTT 5 messages refused to their publishers because the queue was full.",
                s.rejected_queue_full);
        counter("culex_batches_total", "COPY batches committed.", s.batches);
        counter("culex_database_errors_total", "Failed write attempts.", s.db_errors);
        prometheus_header(out, "culex_database_up", "gauge",
                          "1 while the writer's PostgreSQL connection works.");
        prometheus_sample(out, "culex_database_up", {}, s.db_up ? 1 : 0);
        if (ctx.backlog) {
            prometheus_header(out, "culex_queue_depth", "gauge",
                              "Messages accepted and not yet stored or spooled.");
            prometheus_sample(out, "culex_queue_depth", {}, static_cast<double>(ctx.backlog()));
        }
        prometheus_header(out, "culex_batch_rows", "histogram", "Rows per committed batch.");
        prometheus_histogram(out, "culex_batch_rows", {}, s.batch_rows.snapshot());
        prometheus_header(out, "culex_commit_seconds", "histogram",
                          "Time to COPY and commit one batch.");
        prometheus_histogram(out, "culex_commit_seconds", {}, s.commit_seconds.snapshot());
    }
    if (ctx.maintenance != nullptr) {
        const MaintenanceStats& m = *ctx.maintenance;
        prometheus_header(out, "culex_storage_maintenance_runs_total", "counter",
                          "Maintenance runs: done by this broker, or skipped because another "
                          "broker on the database held the lock.");
        prometheus_sample(out, "culex_storage_maintenance_runs_total", {{"result", "done"}},
                          static_cast<double>(m.runs));
        prometheus_sample(out, "culex_storage_maintenance_runs_total", {{"result", "skipped"}},
                          static_cast<double>(m.runs_skipped));
        prometheus_header(out, "culex_storage_maintenance_errors_total", "counter",
                          "Failed maintenance statements (retried at the next run).");
        prometheus_sample(out, "culex_storage_maintenance_errors_total", {},
                          static_cast<double>(m.errors));
        prometheus_header(out, "culex_partitions_created_total", "counter",
                          "Partitions of culex.message_store created ahead of time.");
        prometheus_sample(out, "culex_partitions_created_total", {},
                          static_cast<double>(m.partitions_created));
        prometheus_header(out, "culex_partitions_dropped_total", "counter",
                          "Partitions dropped by retention.");
        prometheus_sample(out, "culex_partitions_dropped_total", {},
                          static_cast<double>(m.partitions_dropped));
        if (m.time_index_pending >= 0) {
            prometheus_header(out, "culex_time_index_partitions_pending", "gauge",
                              "Partitions whose part of the time index the maintenance has "
                              "still to build (after an upgrade).");
            prometheus_sample(out, "culex_time_index_partitions_pending", {},
                              static_cast<double>(m.time_index_pending));
        }
        prometheus_header(out, "culex_retention_rows_deleted_total", "counter",
                          "Messages removed by retention, by rule.");
        const std::pair<const char*, uint64_t> removed[] = {
            {"retention", m.rows_dropped},
            {"retention_topics", m.rows_deleted_topics},
            {"trash_retention", m.rows_purged_trash}};
        for (const auto& [rule, rows] : removed)
            prometheus_sample(out, "culex_retention_rows_deleted_total", {{"rule", rule}},
                              static_cast<double>(rows));
    }
    if (ctx.notify != nullptr) {
        const NotifyStats& n = *ctx.notify;
        auto counter = [&out](const char* name, const char* help, uint64_t value) {
            prometheus_header(out, name, "counter", help);
            prometheus_sample(out, name, {}, static_cast<double>(value));
        };
        prometheus_header(out, "culex_rules_loaded", "gauge", "Enabled rules this broker matches.");
        prometheus_sample(out, "culex_rules_loaded", {}, static_cast<double>(n.rules_loaded));
        prometheus_header(out, "culex_rules_invalid", "gauge",
                          "Stored rules skipped because they no longer parse.");
        prometheus_sample(out, "culex_rules_invalid", {}, static_cast<double>(n.rules_invalid));
        counter("culex_rule_matches_total", "Stored messages that matched at least one rule.",
                n.messages_matched);
        counter("culex_rule_match_dropped_total",
                "Stored messages never matched: the matcher's queue was full.", n.match_dropped);
        prometheus_header(out, "culex_rule_match_queue_depth", "gauge",
                          "Stored messages waiting to be matched.");
        prometheus_sample(out, "culex_rule_match_queue_depth", {},
                          static_cast<double>(n.match_queue_depth));
        counter("culex_deliveries_queued_total", "Deliveries this broker queued.",
                n.deliveries_queued);
        counter("culex_delivery_attempts_total", "Send attempts this broker started.", n.attempts);
        counter("culex_delivery_failed_attempts_total", "Send attempts that failed.",
                n.failed_attempts);
        counter("culex_deliveries_delivered_total", "Deliveries this broker completed.",
                n.delivered);
        counter("culex_deliveries_dead_total", "Deliveries this broker gave up on.", n.dead);
        counter("culex_delivery_database_errors_total",
                "Failed statements of the matcher and dispatcher.", n.db_errors);
        prometheus_header(
            out, "culex_deliveries", "gauge",
            "Deliveries in the database by state (every broker's), refreshed every 5 s.");
        const std::pair<const char*, int64_t> states[] = {{"pending", n.state_pending},
                                                          {"sending", n.state_sending},
                                                          {"delivered", n.state_delivered},
                                                          {"dead", n.state_dead}};
        for (const auto& [state, count] : states) {
            if (count >= 0)
                prometheus_sample(out, "culex_deliveries", {{"state", state}},
                                  static_cast<double>(count));
        }
    }
    if (ctx.replica != nullptr) {
        const ReadReplica::Stats rs = ctx.replica->stats();
        prometheus_header(out, "culex_read_replica_up", "gauge",
                          "1 while the API's reads go to the standby (db_read_conninfo).");
        prometheus_sample(out, "culex_read_replica_up", {}, rs.up ? 1 : 0);
        if (rs.lag_ms) {
            prometheus_header(out, "culex_read_replica_lag_seconds", "gauge",
                              "How far the standby's replay was behind at its last check.");
            prometheus_sample(out, "culex_read_replica_lag_seconds", {},
                              static_cast<double>(*rs.lag_ms) / 1000);
        }
        prometheus_header(out, "culex_read_fallbacks_total", "counter",
                          "Times the API's reads moved from the standby to the primary.");
        prometheus_sample(out, "culex_read_fallbacks_total", {}, static_cast<double>(rs.fallbacks));
        prometheus_header(out, "culex_read_retries_total", "counter",
                          "Reads the standby failed that the primary answered.");
        prometheus_sample(out, "culex_read_retries_total", {}, static_cast<double>(rs.retries));
        prometheus_header(out, "culex_reads_total", "counter",
                          "Data reads of the API, by the server that answered them.");
        prometheus_sample(out, "culex_reads_total", {{"server", "standby"}},
                          static_cast<double>(rs.standby_reads));
        prometheus_sample(out, "culex_reads_total", {{"server", "primary"}},
                          static_cast<double>(rs.primary_reads));
    }
    http.render(out);
    Response r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = std::move(out);
    return r;
}

}  // namespace

void add_service_routes(Router& router, ApiContext& ctx, const HttpMetrics& metrics) {
    router.add({"GET", "/healthz", Scope::kNone, [](Request&, const Principal&) {
                    return text("application/json", "{\"status\":\"ok\"}");
                }});
    router.add({"GET", "/readyz", Scope::kNone,
                [&ctx](Request&, const Principal&) { return ready(ctx); }});
    router.add({"GET", "/api/v1/openapi.json", Scope::kNone,
                [](Request&, const Principal&) { return text("application/json", kOpenApiJson); }});
    router.add({"GET", "/metrics", Scope::kRead, [&ctx, &metrics](Request&, const Principal&) {
                    return metrics_page(ctx, metrics);
                }});
    router.add({"GET", "/docs", Scope::kNone, docs_page(ctx)});
    router.add({"GET", "/", Scope::kNone, [](Request&, const Principal&) { return front_door(); }});
}

}  // namespace culex
