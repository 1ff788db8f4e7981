// Writing API responses: JSON bodies through RapidJSON's writer, stored messages as
// records, and the answers for database trouble. Used by handlers on worker threads.
#pragma once

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string_view>

#include "api_context.h"
#include "http_types.h"
#include "storage/message_query.h"
#include "storage/pg_connection.h"
#include "storage/pg_pool.h"

namespace culex {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void write_string(JsonWriter& w, std::string_view text);

// A record: id, topic, payload (text when valid UTF-8, else base64 with
// "encoding": "base64"), qos, retain, client_id, username, broker, received_at (RFC 3339
// µs) and received_at_ms.
void write_message(JsonWriter& w, const StoredMessage& m);

Response json_response(int status, const rapidjson::StringBuffer& body);

// The answer to a failed statement: 503 when the database is unreachable (the lease is
// discarded), else 500 with the cause in the broker log only.
Response database_failure(ApiContext& ctx, PgPool::Lease& lease, const PgOutcome& outcome);
// The answer when no connection could be leased.
Response database_unavailable(const Status& why);

// The request body as a JSON object. Errors: 415 (not JSON), 400 (malformed, not UTF-8,
// not an object); the Response is then set in `error`.
bool parse_json_object(const Request& request, rapidjson::Document& doc, Response& error);

}  // namespace culex
