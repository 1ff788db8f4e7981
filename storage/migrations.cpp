#include "migrations.h"

#include <cstdlib>
#include <set>
#include <string>

namespace culex {
namespace {

// Arbitrary constant shared by every Culex broker: the advisory lock's key.
constexpr const char* kLockMigrations = "SELECT pg_advisory_xact_lock(7240117433690218533)";

PgOutcome apply_in_transaction(PgConnection& db) {
    PgOutcome step = db.exec(kLockMigrations);
    if (!step.ok())
        return step;
    step = db.exec("CREATE SCHEMA IF NOT EXISTS culex");
    if (!step.ok())
        return step;
    step = db.exec(
        "CREATE TABLE IF NOT EXISTS culex.schema_migrations ("
        " version integer PRIMARY KEY, name text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())");
    if (!step.ok())
        return step;
    step = db.exec("SELECT version FROM culex.schema_migrations");
    if (!step.ok())
        return step;
    std::set<int> applied;
    for (int i = 0; i < PQntuples(step.result.get()); ++i) {
        applied.insert(std::atoi(PQgetvalue(step.result.get(), i, 0)));
    }
    for (size_t i = 0; i < kMigrationCount; ++i) {
        const Migration& m = kMigrations[i];
        if (applied.count(m.version) != 0)
            continue;
        step = db.exec_script(m.sql);
        if (!step.ok()) {
            step.message = "migration " + std::string(m.name) + ": " + step.message;
            return step;
        }
        step = db.exec("INSERT INTO culex.schema_migrations (version, name) VALUES ($1, $2)",
                       {std::to_string(m.version), m.name});
        if (!step.ok())
            return step;
    }
    return step;
}

}  // namespace

PgOutcome apply_migrations(PgConnection& db) {
    PgOutcome begin = db.exec("BEGIN");
    if (!begin.ok())
        return begin;
    PgOutcome outcome = apply_in_transaction(db);
    if (!outcome.ok()) {
        db.exec("ROLLBACK");
        return outcome;
    }
    return db.exec("COMMIT");
}

PgOutcome schema_is_current(PgConnection& db, bool& current) {
    current = false;
    PgOutcome exists = db.exec("SELECT to_regclass('culex.schema_migrations') IS NOT NULL");
    if (!exists.ok() || std::string(PQgetvalue(exists.result.get(), 0, 0)) != "t")
        return exists;
    PgOutcome applied = db.exec("SELECT count(*) FROM culex.schema_migrations");
    if (applied.ok())
        current =
            std::strtoull(PQgetvalue(applied.result.get(), 0, 0), nullptr, 10) >= kMigrationCount;
    return applied;
}

}  // namespace culex
