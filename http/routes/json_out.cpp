#include "json_out.h"

#include <rapidjson/error/en.h>

#include <algorithm>

#include "common/base64.h"
#include "http/server/problem.h"

namespace culex {

Response json_response(int status, const rapidjson::StringBuffer& body) {
    Response r;
    r.status = status;
    r.body.assign(body.GetString(), body.GetSize());
    return r;
}

Response database_failure(ApiContext& ctx, PgPool::Lease& lease, const PgOutcome& outcome) {
    if (outcome.error == PgErrorKind::kConnection) {
        lease.discard();
        return problem(503, "the database is unavailable; try again shortly");
    }
    ctx.log.printf(LogLevel::kWarning, "culex: HTTP API query failed: %s", outcome.message.c_str());
    return problem(500, "the query failed; the broker log has the cause");
}

Response database_unavailable(const Status& why) {
    Response r = problem(503, why.message() + "; try again shortly");
    r.headers.emplace_back("Retry-After", "1");
    return r;
}

bool parse_json_object(const Request& request, std::initializer_list<std::string_view> fields,
                       rapidjson::Document& doc, Response& error) {
    const std::string_view type = request.content_type;
    if (type.substr(0, 16) != "application/json") {
        error = problem(415, "the request body must be application/json");
        return false;
    }
    // Iterative: a deeply nested body must not exhaust the worker thread's stack.
    doc.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag>(
        request.body.data(), request.body.size());
    if (doc.HasParseError()) {
        error = problem(400, std::string("the request body is not valid JSON: ") +
                                 rapidjson::GetParseError_En(doc.GetParseError()) + " (at byte " +
                                 std::to_string(doc.GetErrorOffset()) + ")");
        return false;
    }
    if (!doc.IsObject()) {
        error = problem(400, "the request body must be a JSON object");
        return false;
    }
    for (const auto& member : doc.GetObject()) {
        const std::string_view name(member.name.GetString(), member.name.GetStringLength());
        if (std::find(fields.begin(), fields.end(), name) == fields.end()) {
            error = problem(400, "unknown field '" + std::string(name) + "'");
            return false;
        }
    }
    return true;
}

bool read_message_fields(const rapidjson::Document& doc, std::string& payload, int& qos,
                         bool& retain, Response& error) {
    auto fail = [&error](const char* detail) {
        error = problem(400, detail);
        return false;
    };
    const bool has_text = doc.HasMember("payload");
    if (has_text == doc.HasMember("payload_base64"))
        return fail("give exactly one of 'payload' (text) and 'payload_base64'");
    if (has_text) {
        if (!doc["payload"].IsString())
            return fail("field 'payload' must be a string; use 'payload_base64' for bytes");
        payload.assign(doc["payload"].GetString(), doc["payload"].GetStringLength());
    } else {
        const auto& v = doc["payload_base64"];
        std::optional<std::string> bytes =
            v.IsString() ? base64_decode({v.GetString(), v.GetStringLength()}) : std::nullopt;
        if (!bytes)
            return fail("field 'payload_base64' must be base64 text (RFC 4648, padded)");
        payload = std::move(*bytes);
    }
    if (doc.HasMember("qos")) {
        const auto& v = doc["qos"];
        if (!v.IsInt() || v.GetInt() < 0 || v.GetInt() > 2)
            return fail("field 'qos' must be 0, 1 or 2");
        qos = v.GetInt();
    }
    if (doc.HasMember("retain")) {
        if (!doc["retain"].IsBool())
            return fail("field 'retain' must be true or false");
        retain = doc["retain"].GetBool();
    }
    return true;
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
