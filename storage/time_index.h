// The time index's upkeep: culex.message_store_time, (received_at, id) on every
// partition. Migration 0008 makes it on the partitioned table alone when partitions
// exist already; these calls build the missing parts without blocking the writer.
//
// Each call is a statement or a short sequence on the caller's connection, outside any
// transaction (CREATE INDEX CONCURRENTLY cannot run in one). The storage maintenance
// calls them under its lock, so one broker at a time builds.
#pragma once

#include <string>
#include <vector>

#include "pg_connection.h"

namespace culex {

// The partitions (names in schema culex) whose part of the time index is missing,
// newest first: reads start at the newest. None when culex.message_store is not a
// PostgreSQL partitioned table (a TimescaleDB hypertable indexes its chunks itself).
PgOutcome partitions_without_time_index(PgConnection& db, std::vector<std::string>& names);

// Builds partition `name`'s part of the time index with CREATE INDEX CONCURRENTLY and
// attaches it. A part left invalid by an interrupted build is dropped and built again; a
// valid one left unattached is attached. Ok, doing nothing, when the partition is gone.
PgOutcome build_time_index(PgConnection& db, const std::string& name);

}  // namespace culex
