// The statements of retention: dropping a whole partition and deleting rows in bounded
// batches. Each call is one statement or a short sequence on the caller's connection,
// outside any transaction (DETACH ... CONCURRENTLY cannot run in one), so no call holds a
// lock that stalls the writer's COPY or the API's reads for longer than a batch takes.
#pragma once

#include <cstdint>
#include <string>

#include "pg_connection.h"

namespace culex {

// Detaches partition `name` (in schema culex) without blocking writes and reads of
// culex.message_store, then drops it; `rows` is how many rows it held. A detach
// interrupted earlier (left pending) is finished first.
PgOutcome drop_partition(PgConnection& db, const std::string& name, int64_t& rows);

// Deletes up to `limit` rows of topics matching `filter` received before `before_us`;
// `deleted` is how many.
PgOutcome delete_topic_rows(PgConnection& db, const std::string& filter, int64_t before_us,
                            int64_t limit, int64_t& deleted);

// Removes up to `limit` soft-deleted rows deleted before `before_us`.
PgOutcome purge_trash(PgConnection& db, int64_t before_us, int64_t limit, int64_t& purged);

// Forgets the id counters of hours before `before_us`: no row of those hours is left.
PgOutcome forget_id_blocks_before(PgConnection& db, int64_t before_us);

}  // namespace culex
