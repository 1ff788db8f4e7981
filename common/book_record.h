// Records as the book's platform answers them: {id, topic, payload, timestamp}, where
// timestamp is the epoch in seconds with three decimals, as a string. Used by the
// compatibility routes and by webhooks of rules made through them. Pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "message.h"
#include "message_json.h"

namespace culex {

// "1795678262.114" for 1795678262114233 µs (milliseconds, truncated).
std::string book_timestamp(int64_t epoch_us);

// The payload as text; bytes that are not UTF-8 as base64 with "encoding": "base64".
void write_book_record(JsonWriter& w, const StoredMessage& m);

}  // namespace culex
