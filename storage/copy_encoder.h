// Encodes messages as PostgreSQL binary COPY data for culex.message_store.
//
// Binary COPY sends bytea payloads as they are (no escaping on our side, no unescaping
// on the server's), which is what makes ingest cheap. The column order is
// kMessageStoreColumns. Pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "common/message.h"

namespace culex {

inline constexpr const char* kMessageStoreColumns =
    "id, topic_id, payload, payload_json, qos, retain, client_id, username, broker_id, seq, "
    "received_at";

// Microseconds between the Unix epoch and PostgreSQL's epoch (2000-01-01 UTC).
inline constexpr int64_t kPostgresEpochOffsetUs = 946684800LL * 1000000LL;

// Starts a new COPY stream in `out` (cleared first).
void begin_copy(std::string& out);
// Appends one row, with message.id as its id; `with_json` puts the payload in
// payload_json too (the caller has checked it with is_storable_json).
void append_copy_row(std::string& out, const Message& message, int32_t topic_id, int16_t broker_id,
                     bool with_json);
// Appends the end-of-data marker.
void finish_copy(std::string& out);

}  // namespace culex
