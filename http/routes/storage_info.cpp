// GET /api/v1/storage (admin): the partitions, the retention settings, the oldest and
// newest message, the spool and the maintenance counters.
#include "common/time_text.h"
#include "replies.h"
#include "routes.h"
#include "storage/partitions.h"

namespace culex {
namespace {

void write_duration_or_off(JsonWriter& w, int64_t seconds) {
    write_string(w, seconds > 0 ? format_duration(seconds) : std::string("off"));
}

void write_time_or_null(JsonWriter& w, const std::optional<int64_t>& us) {
    if (us)
        write_string(w, format_rfc3339_us(*us));
    else
        w.Null();
}

void write_settings(JsonWriter& w, const Config& c) {
    w.Key("partition_interval");
    write_duration_or_off(w, c.partition_interval_s);
    w.Key("retention");
    write_duration_or_off(w, c.retention_s);
    w.Key("retention_topics");
    w.StartArray();
    for (const Config::TopicRetention& t : c.retention_topics) {
        w.StartObject();
        w.Key("filter");
        write_string(w, t.filter);
        w.Key("age");
        write_string(w, format_duration(t.age_s));
        w.EndObject();
    }
    w.EndArray();
    w.Key("trash_retention");
    write_duration_or_off(w, c.trash_retention_s);
}

void write_spool(JsonWriter& w, const ApiContext& ctx) {
    w.Key("spool");
    w.StartObject();
    w.Key("directory");
    if (ctx.config.spool_dir.empty())
        w.Null();
    else
        write_string(w, ctx.config.spool_dir);
    w.Key("batches");
    w.Uint64(ctx.ingest != nullptr ? ctx.ingest->spool_files.load() : 0);
    w.Key("bytes");
    w.Uint64(ctx.ingest != nullptr ? ctx.ingest->spool_bytes.load() : 0);
    w.EndObject();
}

void write_maintenance(JsonWriter& w, const MaintenanceStats& m) {
    w.Key("maintenance");
    w.StartObject();
    w.Key("runs");
    w.Uint64(m.runs);
    w.Key("runs_skipped");
    w.Uint64(m.runs_skipped);
    w.Key("last_run");
    write_time_or_null(
        w, m.last_run_us > 0 ? std::optional<int64_t>(m.last_run_us.load()) : std::nullopt);
    w.Key("partitions_dropped");
    w.Uint64(m.partitions_dropped);
    w.Key("rows_dropped");
    w.Uint64(m.rows_dropped);
    w.Key("rows_deleted_by_topic");
    w.Uint64(m.rows_deleted_topics);
    w.Key("rows_purged_from_trash");
    w.Uint64(m.rows_purged_trash);
    w.EndObject();
}

Response storage(ApiContext& ctx, Request& request) {
    if (HttpResult<> none = no_query(request); !none.is_ok())
        return none.error();
    HttpResult<PgPool::Lease> lease = lease_connection(ctx);
    if (!lease.is_ok())
        return lease.error();
    std::vector<PartitionInfo> partitions;
    PgOutcome outcome = read_partitions(lease.value().db(), true, partitions);
    std::optional<int64_t> oldest;
    std::optional<int64_t> newest;
    if (outcome.ok())
        outcome = read_message_span(lease.value().db(), oldest, newest);
    if (!outcome.ok())
        return database_failure(ctx, lease.value(), outcome);
    rapidjson::StringBuffer out;
    JsonWriter w(out);
    w.StartObject();
    write_settings(w, ctx.config);
    w.Key("partitions");
    w.StartArray();
    for (const PartitionInfo& p : partitions) {
        w.StartObject();
        w.Key("name");
        write_string(w, "culex." + p.name);
        w.Key("from");
        write_time_or_null(w, p.from_us);
        w.Key("until");
        write_string(w, format_rfc3339_us(p.until_us));
        w.Key("estimated_rows");
        w.Int64(std::max<int64_t>(p.estimated_rows, 0));
        w.Key("bytes");
        w.Int64(p.bytes);
        w.EndObject();
    }
    w.EndArray();
    w.Key("oldest_message");
    write_time_or_null(w, oldest);
    w.Key("newest_message");
    write_time_or_null(w, newest);
    write_spool(w, ctx);
    if (ctx.maintenance != nullptr)
        write_maintenance(w, *ctx.maintenance);
    w.EndObject();
    return json_response(200, out);
}

}  // namespace

void add_storage_routes(Router& router, ApiContext& ctx) {
    router.add({"GET", "/api/v1/storage", Scope::kAdmin,
                [&ctx](Request& r, const Principal&) { return storage(ctx, r); }});
}

}  // namespace culex
