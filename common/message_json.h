// Records as JSON, the one shape the data API, the live stream and webhooks share:
// id, topic, payload (the text when it is valid UTF-8, else base64 with
// "encoding": "base64"), qos, retain, client_id, username, broker, received_at (RFC 3339
// µs) and received_at_ms. Written through RapidJSON's writer. Pure functions.
#pragma once

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string_view>

#include "message.h"

namespace culex {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void write_string(JsonWriter& w, std::string_view text);

// "payload": the text when it is valid UTF-8, else base64 followed by "encoding": "base64".
void write_payload(JsonWriter& w, std::string_view payload);

// A record as an object; without `with_id` the id is left out (a record not yet stored).
void write_message(JsonWriter& w, const StoredMessage& m, bool with_id = true);

}  // namespace culex
