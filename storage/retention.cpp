#include "retention.h"

#include <cstdlib>

#include "message_ids.h"
#include "message_sql.h"

namespace culex {
namespace {

int64_t first_integer(const PgOutcome& outcome) {
    return std::strtoll(PQgetvalue(outcome.result.get(), 0, 0), nullptr, 10);
}

// Deletes the rows `doomed_sql` selects (as id, received_at), with `bound` also on the
// target so that only the partitions it can touch are planned.
PgOutcome delete_selected(PgConnection& db, const std::string& doomed_sql, const std::string& bound,
                          const SqlParams& params, int64_t& deleted) {
    const std::string sql = "WITH doomed AS (" + doomed_sql +
                            "), gone AS (DELETE FROM culex.message_store s USING doomed"
                            " WHERE s.id = doomed.id AND s.received_at = doomed.received_at AND " +
                            bound + " RETURNING 1) SELECT count(*) FROM gone";
    PgOutcome outcome = db.exec(sql.c_str(), params.values());
    deleted = outcome.ok() ? first_integer(outcome) : 0;
    return outcome;
}

}  // namespace

PgOutcome drop_partition(PgConnection& db, const std::string& name, int64_t& rows) {
    rows = 0;
    // regclass quotes the name as SQL needs it; these statements cannot take parameters.
    PgOutcome found = db.exec(
        "SELECT c.oid::regclass::text, i.inhdetachpending FROM pg_inherits i"
        " JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE c.oid = to_regclass('culex.' || quote_ident($1))"
        " AND i.inhparent = 'culex.message_store'::regclass",
        {name});
    if (!found.ok() || PQntuples(found.result.get()) == 0)
        return found;  // already gone
    const std::string table = PQgetvalue(found.result.get(), 0, 0);
    const bool pending = PQgetvalue(found.result.get(), 0, 1)[0] == 't';
    const std::string detach = "ALTER TABLE culex.message_store DETACH PARTITION " + table +
                               (pending ? " FINALIZE" : " CONCURRENTLY");
    PgOutcome step = db.exec(detach.c_str());
    if (!step.ok())
        return step;
    // Counted once detached, when no writer can add to it any more.
    step = db.exec(("SELECT count(*) FROM " + table).c_str());
    if (!step.ok())
        return step;
    rows = first_integer(step);
    return db.exec(("DROP TABLE " + table).c_str());
}

PgOutcome delete_topic_rows(PgConnection& db, const std::string& filter, int64_t before_us,
                            int64_t limit, int64_t& deleted) {
    SqlParams params;
    const std::string before = micros_to_timestamptz(params.add(std::to_string(before_us)));
    const std::string doomed = "SELECT m.id, m.received_at FROM culex.message_store m WHERE " +
                               topic_condition_sql("m.topic_id", filter, params) +
                               " AND m.received_at < " + before + " LIMIT " +
                               params.add(std::to_string(limit)) + "::bigint";
    return delete_selected(db, doomed, "s.received_at < " + before, params, deleted);
}

PgOutcome purge_trash(PgConnection& db, int64_t before_us, int64_t limit, int64_t& purged) {
    SqlParams params;
    const std::string before = micros_to_timestamptz(params.add(std::to_string(before_us)));
    const std::string doomed =
        "SELECT m.id, m.received_at FROM culex.message_store m WHERE m.deleted_at < " + before +
        " LIMIT " + params.add(std::to_string(limit)) + "::bigint";
    return delete_selected(db, doomed, "s.deleted_at < " + before, params, purged);
}

PgOutcome forget_id_blocks_before(PgConnection& db, int64_t before_us) {
    return db.exec("DELETE FROM culex.message_id_blocks WHERE hour < $1::integer",
                   {std::to_string(message_id_hour(before_us))});
}

}  // namespace culex
