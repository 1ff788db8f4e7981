// Versioned schema migrations (storage/migrations/NNNN_name.sql, embedded at build time).
//
// apply_migrations brings the `culex` schema up to date in one transaction under an
// advisory lock, so two brokers starting at once never race: the second waits, then
// finds nothing to do. Call it from the thread that owns the connection.
#pragma once

#include <cstddef>

#include "common/status.h"
#include "pg_connection.h"

namespace culex {

struct Migration {
    int version;
    const char* name;
    const char* sql;
};

// Generated from storage/migrations/*.sql, ordered by version.
extern const Migration kMigrations[];
extern const size_t kMigrationCount;

// Ok when every migration is applied (now or before). On error nothing was changed.
PgOutcome apply_migrations(PgConnection& connection);

// Whether every migration this build knows is applied, without changing anything: for
// the threads that use the schema but leave migrating to the storage writer, so that on
// a first start they wait quietly instead of failing on tables that do not exist yet.
PgOutcome schema_is_current(PgConnection& connection, bool& current);

}  // namespace culex
