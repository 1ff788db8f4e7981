#include "message_changes.h"

#include <cstdlib>

#include "common/clock.h"
#include "common/json_check.h"
#include "message_sql.h"
#include "partitions.h"

namespace culex {
namespace {

// The ids a delete or purge acts on, with their state, as a CTE body.
std::string matched_sql(const MessageSelection& selection, DeleteScope scope, RowState target,
                        SqlParams& params) {
    if (scope.kind == DeleteScope::Kind::kAll) {
        return "SELECT m.id, m.received_at, m.deleted_at FROM culex.message_store m WHERE " +
               selection_sql(selection, RowState::kAny, params);
    }
    const char* direction = scope.kind == DeleteScope::Kind::kOldest ? "ASC" : "DESC";
    return "SELECT m.id, m.received_at, m.deleted_at FROM culex.message_store m WHERE " +
           selection_sql(selection, target, params) + " ORDER BY m.received_at " + direction +
           ", m.id " + direction + " LIMIT " + params.add(std::to_string(scope.count)) + "::bigint";
}

// Joins the target table `s` to the matched rows by their key; a selection by id also
// names its partition, so the statement plans only that one.
std::string matched_row_sql(const MessageSelection& selection, SqlParams& params) {
    std::string sql = "s.id = matched.id AND s.received_at = matched.received_at";
    if (selection.id)
        sql += " AND " + record_id_sql("s", params.add(std::to_string(*selection.id)) + "::bigint");
    return sql;
}

PgOutcome run_counted(PgConnection& db, const std::string& sql, SqlParams& params,
                      ChangeCount& count) {
    PgOutcome outcome = db.exec(sql.c_str(), params.values());
    if (!outcome.ok())
        return outcome;
    count.matched = std::strtoll(PQgetvalue(outcome.result.get(), 0, 0), nullptr, 10);
    count.changed = std::strtoll(PQgetvalue(outcome.result.get(), 0, 1), nullptr, 10);
    return outcome;
}

}  // namespace

PgOutcome insert_message(PgConnection& db, const NewMessage& message,
                         const std::string& broker_name, bool store_json, int partition_hours,
                         PartitionMap* partitions, int64_t& id, int64_t& received_us) {
    const int64_t at_us = message.received_us.value_or(wall_clock_us());
    if (partition_hours > 0) {
        std::optional<std::string> created;
        PgOutcome covered = create_partition_for(db, at_us, partition_hours, created);
        if (!covered.ok())
            return covered;
        if (created && partitions != nullptr)
            partitions->invalidate();
    }
    // Registering first, in its own statement, means the INSERT below sees the rows even
    // when another session created them concurrently.
    PgOutcome registered = db.exec(
        "WITH topic AS (INSERT INTO culex.topics (name) VALUES ($1) ON CONFLICT DO NOTHING)"
        " INSERT INTO culex.brokers (name) VALUES ($2) ON CONFLICT DO NOTHING",
        {message.topic, broker_name});
    if (!registered.ok())
        return registered;
    SqlParams params;
    const std::string topic = params.add(message.topic);
    const std::string broker = params.add(broker_name);
    const std::string payload = params.add_bytes(message.payload);
    const std::string json = store_json && is_storable_json(message.payload)
                                 ? "convert_from(" + payload + ", 'UTF8')::jsonb"
                                 : "NULL";
    const std::string qos = params.add(std::to_string(message.qos));
    const std::string client_id = params.add(message.client_id);
    const std::string username = message.username ? params.add(*message.username) : "NULL";
    const std::string received = micros_to_timestamptz(params.add(std::to_string(at_us)));
    const std::string sql =
        "INSERT INTO culex.message_store (id, topic_id, payload, payload_json, qos, retain,"
        " client_id, username, broker_id, seq, received_at)"
        " SELECT culex.new_message_id(r.at), (SELECT id FROM culex.topics WHERE name = " +
        topic + "), " + payload + ", " + json + ", " + qos + "::smallint, " +
        (message.retain ? "true" : "false") + ", " + client_id + ", " + username +
        ", (SELECT id FROM culex.brokers WHERE name = " + broker + "), 0, r.at FROM (SELECT " +
        received + " AS at) r RETURNING id, (extract(epoch FROM received_at) * 1000000)::bigint";
    PgOutcome outcome = db.exec(sql.c_str(), params.values());
    if (outcome.error == PgErrorKind::kBadRow && partition_hours > 0) {
        // Retention may have dropped the partition made above (an old time): once more.
        std::optional<std::string> created;
        outcome = create_partition_for(db, at_us, partition_hours, created);
        if (created && partitions != nullptr)
            partitions->invalidate();
        if (outcome.ok())
            outcome = db.exec(sql.c_str(), params.values());
    }
    if (!outcome.ok())
        return outcome;
    id = std::strtoll(PQgetvalue(outcome.result.get(), 0, 0), nullptr, 10);
    received_us = std::strtoll(PQgetvalue(outcome.result.get(), 0, 1), nullptr, 10);
    return outcome;
}

PgOutcome soft_delete(PgConnection& db, const MessageSelection& selection, DeleteScope scope,
                      ChangeCount& count) {
    SqlParams params;
    const std::string sql =
        "WITH matched AS (" + matched_sql(selection, scope, RowState::kLive, params) +
        "), changed AS (UPDATE culex.message_store s SET deleted_at = now() FROM matched WHERE " +
        matched_row_sql(selection, params) +
        " AND matched.deleted_at IS NULL RETURNING 1)"
        " SELECT (SELECT count(*) FROM matched), (SELECT count(*) FROM changed)";
    return run_counted(db, sql, params, count);
}

PgOutcome purge(PgConnection& db, const MessageSelection& selection, DeleteScope scope,
                ChangeCount& count) {
    SqlParams params;
    const std::string sql =
        "WITH matched AS (" + matched_sql(selection, scope, RowState::kDeleted, params) +
        "), removed AS (DELETE FROM culex.message_store s USING matched WHERE " +
        matched_row_sql(selection, params) +
        " AND matched.deleted_at IS NOT NULL RETURNING 1)"
        " SELECT (SELECT count(*) FROM matched), (SELECT count(*) FROM removed)";
    return run_counted(db, sql, params, count);
}

}  // namespace culex
