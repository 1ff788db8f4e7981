#include "timestamp_slots.h"

namespace culex {

PgOutcome claim_timestamp_slot(PgConnection& db, const std::string& topic, int64_t slot_ms,
                               const std::string& broker, bool& claimed) {
    claimed = false;
    // One statement: a concurrent claim of the same interval waits on the row and then
    // finds slot_ms no longer below its own, so exactly one of them gets a row back.
    PgOutcome outcome = db.exec_prepared(
        "INSERT INTO culex.timestamp_slots AS s (topic, slot_ms, broker) VALUES ($1, $2, $3)"
        " ON CONFLICT (topic) DO UPDATE SET slot_ms = EXCLUDED.slot_ms,"
        " broker = EXCLUDED.broker, claimed_at = now()"
        " WHERE s.slot_ms < EXCLUDED.slot_ms RETURNING 1",
        {topic, std::to_string(slot_ms), broker});
    if (outcome.ok())
        claimed = PQntuples(outcome.result.get()) == 1;
    return outcome;
}

}  // namespace culex
