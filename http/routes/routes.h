// Registration of the API's routes, one function per group, and the helpers the groups
// share. Called once, before the server starts; the handlers then run on civetweb's
// worker threads and reach the database only through ctx.pool.
#pragma once

#include <optional>

#include "api_context.h"
#include "http/server/router.h"
#include "notify/rule.h"
#include "replies.h"
#include "storage/delivery_store.h"
#include "storage/message_changes.h"
#include "storage/message_query.h"

namespace culex {

class HttpMetrics;

// /, health, readiness, docs, /metrics
void add_service_routes(Router& router, ApiContext& ctx, const HttpMetrics& metrics);
void add_message_routes(Router& router, ApiContext& ctx);  // reads (D1-D3, aggregates, topics)
void add_change_routes(Router& router, ApiContext& ctx);   // insert, delete, purge (D4-D7)
void add_token_routes(Router& router, ApiContext& ctx);    // token administration
void add_storage_routes(Router& router, ApiContext& ctx);  // partitions, retention, spool
// publish over HTTP, timestamps, time, random values, UUIDs (M1-M4)
void add_utility_routes(Router& router, ApiContext& ctx);
// the live stream (Server-Sent Events)
void add_stream_routes(Router& router, ApiContext& ctx);
void add_rule_routes(Router& router, ApiContext& ctx);  // rules (M7)
// e-mail (M5), SMS (M6) and the delivery outbox
void add_delivery_routes(Router& router, ApiContext& ctx);
// the book platform's own routes (docs/book-compat.md), when book_api is on
void add_book_routes(Router& router, ApiContext& ctx);

// Soft-deletes the selected rows, or purges them when `purging`, on a connection of its
// own; what it matched and changed, else the 503 or 500.
HttpResult<ChangeCount> change_selection(ApiContext& ctx, const MessageSelection& selection,
                                         DeleteScope scope, bool purging);

// A rule definition checked as the API accepts it (webhook targets against this
// broker's policy); 400 naming what is wrong.
HttpResult<Rule> parse_api_rule(const ApiContext& ctx, const rapidjson::Value& definition);
// Stores a new rule on `lease`; the stored row, else 409 (the name is taken), 503 or 500.
HttpResult<RuleRow> insert_new_rule(ApiContext& ctx, PgPool::Lease& lease, const Rule& rule);

enum class RuleChange { kEnable, kDisable, kDelete };
// Enables, disables or deletes rule `id`, or enables or disables every rule when `id` is
// empty (which needs a token for every topic); how many rules changed, else the 403, 404
// (no such rule the principal may see), 503 or 500.
HttpResult<int64_t> change_rules(ApiContext& ctx, const Principal& principal,
                                 std::optional<int64_t> id, RuleChange what);

// Queues `delivery` in the outbox and wakes the dispatcher; its id, else the 503 or 500.
HttpResult<int64_t> queue_delivery(ApiContext& ctx, const NewDelivery& delivery);
// Done when this broker can send e-mail (SMS); else a problem with `status` naming the
// options to set: 503 for a send asked for now, 409 for a rule that would send later.
HttpResult<> check_email_configured(const Config& config, int status = 503);
HttpResult<> check_sms_configured(const Config& config, int status = 503);

// The id in a path segment; 400 ("a <what> id is a positive integer") when it is not a
// positive integer.
HttpResult<int64_t> id_in_path(const std::string& segment, const char* what);

// Done when the principal may touch every topic the selection can name; else a 403.
// A selection without topic or filter is treated as `#`.
HttpResult<> check_topic_access(const Principal& principal, const MessageSelection& selection);

}  // namespace culex
