// Claims of the periodic timestamp's intervals in culex.timestamp_slots, shared by every
// broker on the database: the first claim of an interval wins and its broker publishes
// that interval's timestamp; later claims of the same or an earlier interval lose.
//
// Runs on the caller's connection (the thread that owns it). On error `claimed` is false
// and the outcome says why; the caller decides what an unanswered claim means.
#pragma once

#include <cstdint>
#include <string>

#include "pg_connection.h"

namespace culex {

// Claims the interval starting at `slot_ms` (epoch milliseconds) of `topic` for `broker`.
PgOutcome claim_timestamp_slot(PgConnection& db, const std::string& topic, int64_t slot_ms,
                               const std::string& broker, bool& claimed);

}  // namespace culex
