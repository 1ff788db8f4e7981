// Changes to stored messages: insert (D4), soft delete of one, a series or by conditions
// (D5-D7), and purge of soft-deleted rows.
#include "common/time_text.h"
#include "common/topic_filter.h"
#include "http/codecs/selection_params.h"
#include "http/server/problem.h"
#include "publishing.h"
#include "replies.h"
#include "routes.h"
#include "storage/message_changes.h"
#include "storage/message_ids.h"
#include "storage/message_reads.h"

namespace culex {
namespace {

constexpr int64_t kMaxDeleteCount = 1000000000;

// A NewMessage from a POST body; 400 on bad input.
HttpResult<NewMessage> read_new_message(const rapidjson::Document& doc) {
    NewMessage m;
    if (!doc.HasMember("topic") || !doc["topic"].IsString())
        return problem(400, "field 'topic' (a string) is required");
    m.topic.assign(doc["topic"].GetString(), doc["topic"].GetStringLength());
    if (Status valid = validate_topic_name(m.topic); !valid.is_ok())
        return problem(400, "field 'topic': " + valid.message());
    HttpResult<MessageFields> fields = read_message_fields(doc);
    if (!fields.is_ok())
        return fields.error();
    m.payload = std::move(fields.value().payload);
    m.qos = fields.value().qos;
    m.retain = fields.value().retain;
    if (doc.HasMember("time")) {
        const auto& v = doc["time"];
        std::optional<int64_t> us;
        if (v.IsString())
            us = parse_time_us({v.GetString(), v.GetStringLength()});
        else if (v.IsInt64() && v.GetInt64() >= 0)
            us = parse_time_us(std::to_string(v.GetInt64()));
        if (!us)
            return problem(400, "field 'time' must be an RFC 3339 time or epoch milliseconds");
        // Record ids count hours from the epoch, starting at 1 (storage/message_ids.h).
        if (*us < kFirstRecordHourUs)
            return problem(400, "field 'time' must be 1970-01-01T01:00:00Z or later");
        m.received_us = us;
    }
    m.client_id = "http";
    if (doc.HasMember("client_id")) {
        const auto& v = doc["client_id"];
        if (!v.IsString() || v.GetStringLength() > 65535 ||
            std::string_view(v.GetString(), v.GetStringLength()).find('\0') !=
                std::string_view::npos)
            return problem(400, "field 'client_id' must be a string without NUL");
        m.client_id.assign(v.GetString(), v.GetStringLength());
    }
    return m;
}

Response post_message(ApiContext& ctx, Request& request, const Principal& principal) {
    if (HttpResult<> none = no_query(request); !none.is_ok())
        return none.error();
    HttpResult<rapidjson::Document> body = json_body(
        request,
        {"topic", "payload", "payload_base64", "qos", "retain", "time", "client_id", "publish"});
    if (!body.is_ok())
        return body.error();
    const rapidjson::Document& doc = body.value();
    HttpResult<NewMessage> read = read_new_message(doc);
    if (!read.is_ok())
        return read.error();
    NewMessage& m = read.value();
    if (!principal.may_touch_topic(m.topic))
        return problem(403, "this token's topic filters do not include '" + m.topic + "'");
    m.username = principal.name;
    bool also_publish = false;
    if (doc.HasMember("publish")) {
        if (!doc["publish"].IsBool())
            return problem(400, "field 'publish' must be true or false");
        also_publish = doc["publish"].GetBool();
        if (also_publish && m.topic[0] == '$')
            return problem(400, "field 'topic': topics starting with '$' are the broker's own");
        if (also_publish && ctx.outbox == nullptr)
            return problem(503, "publishing is not available here");
    }
    HttpResult<PgPool::Lease> lease = lease_connection(ctx);
    if (!lease.is_ok())
        return lease.error();
    int64_t id = 0;
    int64_t received_us = 0;
    PgOutcome outcome = insert_message(
        lease.value().db(), m, ctx.config.broker_id, ctx.config.store_json,
        static_cast<int>(ctx.config.partition_interval_s / 3600), ctx.partitions, id, received_us);
    if (!outcome.ok())
        return database_failure(ctx, lease.value(), outcome);
    bool published = false;
    if (also_publish) {
        // Stored already (above), so the broker only delivers it.
        OutgoingMessage out;
        out.topic = m.topic;
        out.payload = m.payload;
        out.qos = m.qos;
        out.retain = m.retain;
        out.store = false;
        published = publish_and_wait(ctx, std::move(out)).is_ok();
    }
    rapidjson::StringBuffer out;
    JsonWriter w(out);
    w.StartObject();
    w.Key("id");
    w.Int64(id);
    w.Key("published");
    w.Bool(published);
    w.Key("topic");
    write_string(w, m.topic);
    w.Key("received_at");
    write_string(w, format_rfc3339_us(received_us));
    w.Key("received_at_ms");
    w.Int64(received_us / 1000);
    w.EndObject();
    Response created = json_response(201, out);
    created.headers.emplace_back("Location", "/api/v1/messages/" + std::to_string(id));
    return created;
}

Response change_counts(const ChangeCount& count, const char* changed_name) {
    rapidjson::StringBuffer out;
    JsonWriter w(out);
    w.StartObject();
    w.Key("matched");
    w.Int64(count.matched);
    w.Key(changed_name);
    w.Int64(count.changed);
    w.EndObject();
    return json_response(200, out);
}

// DELETE of one record by id: soft delete, or purge when `purging`.
Response change_one(ApiContext& ctx, Request& request, const Principal& principal, bool purging) {
    if (HttpResult<> none = no_query(request); !none.is_ok())
        return none.error();
    HttpResult<int64_t> id = id_in_path(request.path_params[0], "record");
    if (!id.is_ok())
        return id.error();
    HttpResult<PgPool::Lease> lease = lease_connection(ctx);
    if (!lease.is_ok())
        return lease.error();
    std::optional<std::string> topic;
    PgOutcome outcome =
        read_topic_of(lease.value().db(), ctx.partitions, id.value(), purging, topic);
    if (!outcome.ok())
        return database_failure(ctx, lease.value(), outcome);
    if (!topic || !principal.may_touch_topic(*topic)) {
        return problem(404, std::string("no ") + (purging ? "deleted" : "stored") +
                                " record with id " + std::to_string(id.value()));
    }
    MessageSelection selection;
    selection.id = id.value();
    ChangeCount count;
    outcome = purging ? purge(lease.value().db(), selection, {}, count)
                      : soft_delete(lease.value().db(), selection, {}, count);
    if (!outcome.ok())
        return database_failure(ctx, lease.value(), outcome);
    return change_counts(count, purging ? "purged" : "deleted");
}

// DELETE of a selection: soft delete, or purge when `purging`.
Response change_many(ApiContext& ctx, Request& request, const Principal& principal, bool purging) {
    HttpResult<ParamReader> parsed = read_params(request.query);
    if (!parsed.is_ok())
        return parsed.error();
    ParamReader& params = parsed.value();
    MessageSelection selection;
    read_selection(params, selection);
    DeleteScope scope;
    std::optional<int64_t> oldest = params.integer("oldest", 1, kMaxDeleteCount);
    std::optional<int64_t> newest = params.integer("newest", 1, kMaxDeleteCount);
    if (oldest && newest)
        params.fail("give 'oldest' or 'newest', not both");
    if (oldest)
        scope = {DeleteScope::Kind::kOldest, *oldest};
    if (newest)
        scope = {DeleteScope::Kind::kNewest, *newest};
    if (HttpResult<> done = finish_params(params); !done.is_ok())
        return done.error();
    if (!selection.narrows()) {
        return problem(400,
                       "refusing to delete everything: give a topic, a filter or a "
                       "condition (filter=# selects all topics explicitly)");
    }
    if (HttpResult<> allowed = check_topic_access(principal, selection); !allowed.is_ok())
        return allowed.error();
    if (!selection.topic && !selection.filter)
        selection.filter = "#";
    HttpResult<ChangeCount> count = change_selection(ctx, selection, scope, purging);
    if (!count.is_ok())
        return count.error();
    return change_counts(count.value(), purging ? "purged" : "deleted");
}

}  // namespace

HttpResult<ChangeCount> change_selection(ApiContext& ctx, const MessageSelection& selection,
                                         DeleteScope scope, bool purging) {
    HttpResult<PgPool::Lease> lease = lease_connection(ctx);
    if (!lease.is_ok())
        return lease.error();
    ChangeCount count;
    PgOutcome outcome = purging ? purge(lease.value().db(), selection, scope, count)
                                : soft_delete(lease.value().db(), selection, scope, count);
    if (!outcome.ok())
        return database_failure(ctx, lease.value(), outcome);
    return count;
}

void add_change_routes(Router& router, ApiContext& ctx) {
    router.add({"POST", "/api/v1/messages", Scope::kWrite,
                [&ctx](Request& r, const Principal& p) { return post_message(ctx, r, p); }});
    router.add({"DELETE", "/api/v1/messages/{id}", Scope::kWrite,
                [&ctx](Request& r, const Principal& p) { return change_one(ctx, r, p, false); }});
    router.add({"DELETE", "/api/v1/messages", Scope::kWrite,
                [&ctx](Request& r, const Principal& p) { return change_many(ctx, r, p, false); }});
    router.add({"DELETE", "/api/v1/trash/{id}", Scope::kWrite,
                [&ctx](Request& r, const Principal& p) { return change_one(ctx, r, p, true); }});
    router.add({"DELETE", "/api/v1/trash", Scope::kWrite,
                [&ctx](Request& r, const Principal& p) { return change_many(ctx, r, p, true); }});
}

}  // namespace culex
