// How route handlers answer. Every step of a handler that can fail returns an
// HttpResult<T>: the value it produced, or the Response (a problem+json error) to answer
// instead, which the handler returns at once:
//
//     HttpResult<PgPool::Lease> lease = lease_connection(ctx);
//     if (!lease.is_ok())
//         return lease.error();
//
// The steps every route group shares are here: the query string, the JSON body, a
// database connection (run_read for the data reads, which may go to a standby), and the
// answers for database trouble. Worker threads, one
// request each.
#pragma once

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>

#include <chrono>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>

#include "api_context.h"
#include "common/message_json.h"
#include "common/status.h"
#include "http/codecs/query_params.h"
#include "http/server/http_types.h"
#include "storage/pg_connection.h"
#include "storage/pg_pool.h"

namespace culex {

template <typename T = Done>
using HttpResult = Result<T, Response>;

Response json_response(int status, const rapidjson::StringBuffer& body);
// 204 with no body.
Response no_content();

// 400 when the request has a query string (endpoints that take none).
HttpResult<> no_query(const Request& request);
// The query string (or a form body) read strictly; 400 when it is malformed.
HttpResult<ParamReader> read_params(std::string_view query);
// 400 with the first problem the reader met, or naming a parameter nobody read.
HttpResult<> finish_params(const ParamReader& params);

// A connection from the API's pool, waiting up to `wait` for a free one; 503 (with
// Retry-After) when there is none.
HttpResult<PgPool::Lease> lease_connection(ApiContext& ctx,
                                           std::chrono::milliseconds wait = kConnectionWait);
// The answer to a failed statement: 503 when the database is unreachable (the lease is
// discarded), else 500 with the cause in the broker log only.
Response database_failure(ApiContext& ctx, PgPool::Lease& lease, const PgOutcome& outcome);

// One read statement of the data API (storage/message_reads.h) on the connection given,
// with the partition map of the server that connection reaches: it fills its output only
// on success, so it may run a second time.
using ReadStatement = std::function<PgOutcome(PgConnection&, PartitionMap*)>;
// How current a read must be. kWithinLag: the standby's view, up to read_max_lag_ms
// behind the primary. kCommittedNow: everything committed on the primary before the call
// (the live stream's resume, which must leave no gap before its live messages).
enum class ReadFreshness { kWithinLag, kCommittedNow };
// The one way the data reads reach the database: `read` runs on the standby while reads
// go there (ctx.replica), else on the primary; a read the standby fails (connection lost,
// a conflict with recovery) runs again on the primary. Errors as lease_connection and
// database_failure answer them.
HttpResult<> run_read(ApiContext& ctx, const ReadStatement& read,
                      ReadFreshness freshness = ReadFreshness::kWithinLag);

// The request body as a JSON object with no members but `fields`. 415 when it is not
// JSON; 400 when it is malformed, not UTF-8, not an object or has an unknown field.
HttpResult<rapidjson::Document> json_body(const Request& request,
                                          std::initializer_list<std::string_view> fields);

// The message fields shared by inserts and publishes: exactly one of `payload` (text) and
// `payload_base64` (bytes), and `qos` (0-2) and `retain` when present (defaults
// otherwise). 400 on bad input.
struct MessageFields {
    std::string payload;
    int qos = 0;
    bool retain = false;
};
HttpResult<MessageFields> read_message_fields(const rapidjson::Document& doc);

// Ends a page: closes the `items` array, writes has_more and next_cursor (null when there
// is no more) and closes the object.
void write_page_end(JsonWriter& w, bool has_more, const std::string& next_cursor);

}  // namespace culex
