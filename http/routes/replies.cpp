#include "replies.h"

#include <rapidjson/error/en.h>

#include <algorithm>
#include <optional>
#include <unordered_set>
#include <vector>

#include "common/base64.h"
#include "http/server/problem.h"
#include "storage/standby_status.h"

namespace culex {

Response json_response(int status, const rapidjson::StringBuffer& body) {
    Response r;
    r.status = status;
    r.body.assign(body.GetString(), body.GetSize());
    return r;
}

Response no_content() {
    Response r;
    r.status = 204;
    r.content_type.clear();
    return r;
}

HttpResult<> no_query(const Request& request) {
    if (!request.query.empty())
        return problem(400, "this endpoint takes no query parameters");
    return Done{};
}

HttpResult<ParamReader> read_params(std::string_view query) {
    Result<ParamReader> parsed = ParamReader::parse(query);
    if (!parsed.is_ok())
        return problem(400, parsed.status().message());
    return std::move(parsed.value());
}

HttpResult<> finish_params(const ParamReader& params) {
    if (Status done = params.finish(); !done.is_ok())
        return problem(400, done.message());
    return Done{};
}

HttpResult<PgPool::Lease> lease_connection(ApiContext& ctx, std::chrono::milliseconds wait) {
    Result<PgPool::Lease> lease = ctx.pool.acquire(wait);
    if (!lease.is_ok()) {
        Response r = problem(503, lease.status().message() + "; try again shortly");
        r.headers.emplace_back("Retry-After", "1");
        return r;
    }
    return std::move(lease.value());
}

Response database_failure(ApiContext& ctx, PgPool::Lease& lease, const PgOutcome& outcome) {
    if (outcome.error == PgErrorKind::kConnection) {
        lease.discard();
        return problem(503, "the database is unavailable; try again shortly");
    }
    if (outcome.error == PgErrorKind::kCanceled) {
        return problem(503, "the query ran longer than plugin_opt_http_statement_timeout_ms (" +
                                std::to_string(ctx.config.http_statement_timeout_ms) +
                                " ms) and was cancelled; narrow it (a time range, a topic) or "
                                "ask the admin to raise the limit");
    }
    ctx.log.printf(LogLevel::kWarning, "culex: HTTP API query failed: %s", outcome.message.c_str());
    return problem(500, "the query failed; the broker log has the cause");
}

HttpResult<> run_read(ApiContext& ctx, const ReadStatement& read, ReadFreshness freshness) {
    bool retried = false;
    if (ctx.replica != nullptr && ctx.replica->up()) {
        std::string position;
        if (freshness == ReadFreshness::kCommittedNow) {
            HttpResult<PgPool::Lease> primary = lease_connection(ctx);
            if (!primary.is_ok())
                return primary.error();
            PgOutcome outcome = read_wal_position(primary.value().db(), position);
            if (!outcome.ok())
                return database_failure(ctx, primary.value(), outcome);
        }
        Result<PgPool::Lease> standby = ctx.replica->lease(kConnectionWait, position);
        if (standby.is_ok()) {
            PgOutcome outcome = read(standby.value().db(), ctx.replica->partitions());
            if (outcome.ok()) {
                ctx.replica->count_read(true);
                return Done{};
            }
            // A cancelled statement or a refused value would fail the same way again.
            if (outcome.error == PgErrorKind::kCanceled || outcome.error == PgErrorKind::kBadRow)
                return database_failure(ctx, standby.value(), outcome);
            if (outcome.error == PgErrorKind::kConnection)
                standby.value().discard();
            retried = true;
        }
    }
    HttpResult<PgPool::Lease> lease = lease_connection(ctx);
    if (!lease.is_ok())
        return lease.error();
    PgOutcome outcome = read(lease.value().db(), ctx.partitions);
    if (!outcome.ok())
        return database_failure(ctx, lease.value(), outcome);
    if (ctx.replica != nullptr)
        ctx.replica->count_read(false, retried);
    return Done{};
}

namespace {

// The first member name that occurs twice in one object anywhere in `root`, if any.
// RapidJSON keeps both and lookups find the first, so a body that says a field twice
// would silently ignore the second. Iterative, like the parse: bodies may nest deeply.
std::optional<std::string> duplicate_member(const rapidjson::Value& root) {
    std::vector<const rapidjson::Value*> pending = {&root};
    std::unordered_set<std::string_view> names;
    while (!pending.empty()) {
        const rapidjson::Value* v = pending.back();
        pending.pop_back();
        if (v->IsArray()) {
            for (const auto& item : v->GetArray())
                pending.push_back(&item);
            continue;
        }
        if (!v->IsObject())
            continue;
        names.clear();
        for (const auto& member : v->GetObject()) {
            const std::string_view name(member.name.GetString(), member.name.GetStringLength());
            if (!names.insert(name).second)
                return std::string(name);
            pending.push_back(&member.value);
        }
    }
    return std::nullopt;
}

}  // namespace

HttpResult<rapidjson::Document> json_body(const Request& request,
                                          std::initializer_list<std::string_view> fields) {
    const std::string_view type = request.content_type;
    if (type.substr(0, 16) != "application/json")
        return problem(415, "the request body must be application/json");
    rapidjson::Document doc;
    // Iterative: a deeply nested body must not exhaust the worker thread's stack.
    doc.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag>(
        request.body.data(), request.body.size());
    if (doc.HasParseError()) {
        return problem(400, std::string("the request body is not valid JSON: ") +
                                rapidjson::GetParseError_En(doc.GetParseError()) + " (at byte " +
                                std::to_string(doc.GetErrorOffset()) + ")");
    }
    if (!doc.IsObject())
        return problem(400, "the request body must be a JSON object");
    if (std::optional<std::string> twice = duplicate_member(doc))
        return problem(400, "field '" + *twice + "' appears more than once in an object");
    for (const auto& member : doc.GetObject()) {
        const std::string_view name(member.name.GetString(), member.name.GetStringLength());
        if (std::find(fields.begin(), fields.end(), name) == fields.end())
            return problem(400, "unknown field '" + std::string(name) + "'");
    }
    return doc;
}

HttpResult<MessageFields> read_message_fields(const rapidjson::Document& doc) {
    MessageFields m;
    const bool has_text = doc.HasMember("payload");
    if (has_text == doc.HasMember("payload_base64"))
        return problem(400, "give exactly one of 'payload' (text) and 'payload_base64'");
    if (has_text) {
        if (!doc["payload"].IsString())
            return problem(400, "field 'payload' must be a string; use 'payload_base64' for bytes");
        m.payload.assign(doc["payload"].GetString(), doc["payload"].GetStringLength());
    } else {
        const auto& v = doc["payload_base64"];
        std::optional<std::string> bytes =
            v.IsString() ? base64_decode({v.GetString(), v.GetStringLength()}) : std::nullopt;
        if (!bytes)
            return problem(400, "field 'payload_base64' must be base64 text (RFC 4648, padded)");
        m.payload = std::move(*bytes);
    }
    if (doc.HasMember("qos")) {
        const auto& v = doc["qos"];
        if (!v.IsInt() || v.GetInt() < 0 || v.GetInt() > 2)
            return problem(400, "field 'qos' must be 0, 1 or 2");
        m.qos = v.GetInt();
    }
    if (doc.HasMember("retain")) {
        if (!doc["retain"].IsBool())
            return problem(400, "field 'retain' must be true or false");
        m.retain = doc["retain"].GetBool();
    }
    return m;
}

void write_page_end(JsonWriter& w, bool has_more, const std::string& next_cursor) {
    w.EndArray();
    w.Key("has_more");
    w.Bool(has_more);
    w.Key("next_cursor");
    if (has_more)
        write_string(w, next_cursor);
    else
        w.Null();
    w.EndObject();
}

}  // namespace culex
