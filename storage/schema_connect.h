// Connecting the threads that use the schema but leave migrating to the storage writer
// (storage maintenance, rule matcher, delivery dispatcher, periodic timestamp).
//
// On a first start the writer may not have created the schema yet: such a thread then
// waits quietly and asks again soon (kSchemaPoll), while a database that cannot be
// reached or refuses is retried with the thread's backoff. The functions use the
// connection they are given, on the caller's thread.
#pragma once

#include <chrono>
#include <string>

#include "backoff.h"
#include "pg_connection.h"

namespace culex {

enum class SchemaConnectState {
    kReady,         // connected, schema current, `setup` done
    kSchemaNotYet,  // connected, but the schema is not current yet; now closed
    kUnreachable,   // the connection could not be opened (the writer reports that)
    kFailed,        // connected, but a statement failed; now closed
};

// How soon such a thread asks again while the schema is not current.
constexpr std::chrono::milliseconds kSchemaPoll{200};

struct SchemaConnect {
    SchemaConnectState state = SchemaConnectState::kFailed;
    std::string error;  // one line for the log when kUnreachable or kFailed
    bool ready() const { return state == SchemaConnectState::kReady; }
};

// Opens `db` afresh and, once the schema is current, runs `setup` (statements without
// parameters, may be empty) on it.
SchemaConnect connect_to_schema(PgConnection& db, const std::string& setup);

// How soon to try again after `attempt`: kSchemaPoll while the schema is not there yet,
// the backoff's next delay when unreachable or failed. Resets the backoff once ready.
std::chrono::milliseconds retry_delay(const SchemaConnect& attempt, Backoff& backoff);

}  // namespace culex
