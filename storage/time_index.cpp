#include "time_index.h"

namespace culex {

PgOutcome partitions_without_time_index(PgConnection& db, std::vector<std::string>& names) {
    PgOutcome outcome = db.exec(
        "SELECT p.name FROM culex.message_partitions p WHERE NOT EXISTS ("
        " SELECT 1 FROM pg_inherits i JOIN pg_index x ON x.indexrelid = i.inhrelid"
        " WHERE i.inhparent = 'culex.message_store_time'::regclass"
        " AND x.indrelid = p.partition)"
        " AND (SELECT relkind FROM pg_class WHERE oid = 'culex.message_store'::regclass) = 'p'"
        " ORDER BY p.range_from DESC");
    names.clear();
    if (!outcome.ok())
        return outcome;
    for (int row = 0; row < PQntuples(outcome.result.get()); ++row)
        names.emplace_back(PQgetvalue(outcome.result.get(), row, 0));
    return outcome;
}

PgOutcome build_time_index(PgConnection& db, const std::string& name) {
    // regclass quotes the names as SQL needs them; these statements cannot take
    // parameters.
    PgOutcome found = db.exec(
        "SELECT to_regclass('culex.' || quote_ident($1))::text,"
        " quote_ident($1 || '_time'), x.indisvalid"
        " FROM (SELECT 1) one LEFT JOIN pg_index x"
        " ON x.indexrelid = to_regclass('culex.' || quote_ident($1 || '_time'))",
        {name});
    if (!found.ok() || PQgetisnull(found.result.get(), 0, 0))
        return found;  // gone: retention dropped it
    const PGresult* r = found.result.get();
    const std::string table = PQgetvalue(r, 0, 0);
    const std::string index = std::string("culex.") + PQgetvalue(r, 0, 1);
    const bool exists = !PQgetisnull(r, 0, 2);
    const bool valid = exists && PQgetvalue(r, 0, 2)[0] == 't';
    if (exists && !valid) {
        PgOutcome dropped = db.exec(("DROP INDEX CONCURRENTLY " + index).c_str());
        if (!dropped.ok())
            return dropped;
    }
    if (!valid) {
        PgOutcome built = db.exec(("CREATE INDEX CONCURRENTLY " + std::string(PQgetvalue(r, 0, 1)) +
                                   " ON " + table + " (received_at, id)")
                                      .c_str());
        if (!built.ok())
            return built;
    }
    return db.exec(("ALTER INDEX culex.message_store_time ATTACH PARTITION " + index).c_str());
}

}  // namespace culex
