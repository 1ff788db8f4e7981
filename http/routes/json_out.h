// Writing API responses: JSON bodies (common/message_json.h writes records), the
// answers for database trouble, and reading JSON request bodies. Used by handlers on
// worker threads.
#pragma once

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <initializer_list>
#include <string>
#include <string_view>

#include "api_context.h"
#include "common/message_json.h"
#include "http/server/http_types.h"
#include "storage/message_query.h"
#include "storage/pg_connection.h"
#include "storage/pg_pool.h"

namespace culex {

Response json_response(int status, const rapidjson::StringBuffer& body);

// The answer to a failed statement: 503 when the database is unreachable (the lease is
// discarded), else 500 with the cause in the broker log only.
Response database_failure(ApiContext& ctx, PgPool::Lease& lease, const PgOutcome& outcome);
// The answer when no connection could be leased.
Response database_unavailable(const Status& why);

// The request body as a JSON object with no members but `fields`. Errors: 415 (not
// JSON), 400 (malformed, not UTF-8, not an object, an unknown field); the Response is
// then set in `error`.
bool parse_json_object(const Request& request, std::initializer_list<std::string_view> fields,
                       rapidjson::Document& doc, Response& error);

// The message fields shared by inserts and publishes: exactly one of `payload` (text) and
// `payload_base64` (bytes), and `qos` (0-2) and `retain` when present (left as they are
// otherwise). False with `error` set (400) on bad input.
bool read_message_fields(const rapidjson::Document& doc, std::string& payload, int& qos,
                         bool& retain, Response& error);

// Ends a page: closes the `items` array, writes has_more and next_cursor (null when there
// is no more) and closes the object.
void write_page_end(JsonWriter& w, bool has_more, const std::string& next_cursor);

}  // namespace culex
