// Utility endpoints (the book's M1-M4) and publishing over HTTP: publish, timestamp on
// demand, current time, random values from a CSPRNG, UUIDs.
#include "common/clock.h"
#include "common/time_text.h"
#include "common/topic_filter.h"
#include "http/codecs/query_params.h"
#include "http/codecs/random_values.h"
#include "http/server/problem.h"
#include "publishing.h"
#include "replies.h"
#include "routes.h"

namespace culex {
namespace {

constexpr int64_t kMaxCount = 1000;
constexpr int64_t kMaxLength = 4096;

// Hands `m` to the broker and answers `answer` once it is published.
Response publish(ApiContext& ctx, OutgoingMessage m, const rapidjson::StringBuffer& answer) {
    if (HttpResult<> published = publish_and_wait(ctx, std::move(m)); !published.is_ok())
        return published.error();
    return json_response(200, answer);
}

Response post_publish(ApiContext& ctx, Request& request, const Principal& principal) {
    if (HttpResult<> none = no_query(request); !none.is_ok())
        return none.error();
    HttpResult<rapidjson::Document> body =
        json_body(request, {"topic", "payload", "payload_base64", "qos", "retain",
                            "user_properties", "content_type", "message_expiry"});
    if (!body.is_ok())
        return body.error();
    const rapidjson::Document& doc = body.value();
    OutgoingMessage m;
    if (!doc.HasMember("topic") || !doc["topic"].IsString())
        return problem(400, "field 'topic' (a string) is required");
    m.topic.assign(doc["topic"].GetString(), doc["topic"].GetStringLength());
    if (HttpResult<> allowed = check_publish_topic(principal, m.topic); !allowed.is_ok())
        return allowed.error();
    HttpResult<MessageFields> fields = read_message_fields(doc);
    if (!fields.is_ok())
        return fields.error();
    m.payload = std::move(fields.value().payload);
    m.qos = fields.value().qos;
    m.retain = fields.value().retain;
    if (doc.HasMember("user_properties")) {
        const auto& props = doc["user_properties"];
        if (!props.IsObject() || props.MemberCount() > 100)
            return problem(400, "field 'user_properties' must be an object of up to 100 strings");
        for (const auto& p : props.GetObject()) {
            if (!p.value.IsString())
                return problem(400, "field 'user_properties' must hold strings only");
            std::string name(p.name.GetString(), p.name.GetStringLength());
            std::string value(p.value.GetString(), p.value.GetStringLength());
            if (name.find('\0') != std::string::npos || value.find('\0') != std::string::npos)
                return problem(400, "field 'user_properties' cannot hold NUL characters");
            m.user_properties.emplace_back(std::move(name), std::move(value));
        }
    }
    if (doc.HasMember("content_type")) {
        const auto& v = doc["content_type"];
        if (!v.IsString() || v.GetStringLength() > 1024 ||
            std::string_view(v.GetString(), v.GetStringLength()).find('\0') !=
                std::string_view::npos)
            return problem(400, "field 'content_type' must be a string of up to 1024 characters");
        m.content_type = std::string(v.GetString(), v.GetStringLength());
    }
    if (doc.HasMember("message_expiry")) {
        const auto& v = doc["message_expiry"];
        if (!v.IsUint() || v.GetUint() == 0)
            return problem(400, "field 'message_expiry' must be seconds from 1 to 4294967295");
        m.message_expiry_s = v.GetUint();
    }
    m.client_id = "http";
    m.username = principal.name;
    rapidjson::StringBuffer out;
    JsonWriter w(out);
    w.StartObject();
    w.Key("published");
    w.Bool(true);
    w.Key("topic");
    write_string(w, m.topic);
    w.Key("qos");
    w.Int(m.qos);
    w.Key("bytes");
    w.Uint64(m.payload.size());
    w.EndObject();
    return publish(ctx, std::move(m), out);
}

Response post_timestamp(ApiContext& ctx, Request& request, const Principal& principal) {
    if (!request.query.empty() || !request.body.empty())
        return problem(400, "this endpoint takes no parameters and no body");
    if (HttpResult<> allowed = check_publish_topic(principal, ctx.config.timestamp_topic);
        !allowed.is_ok())
        return allowed.error();
    OutgoingMessage m;
    m.topic = ctx.config.timestamp_topic;
    const int64_t ms = wall_clock_us() / 1000;
    m.payload = std::to_string(ms);
    m.client_id = "http";
    m.username = principal.name;
    rapidjson::StringBuffer out;
    JsonWriter w(out);
    w.StartObject();
    w.Key("topic");
    write_string(w, m.topic);
    w.Key("timestamp");
    w.Int64(ms);
    w.EndObject();
    return publish(ctx, std::move(m), out);
}

Response get_time(Request& request) {
    const int64_t received = wall_clock_us();
    if (HttpResult<> none = no_query(request); !none.is_ok())
        return none.error();
    rapidjson::StringBuffer out;
    JsonWriter w(out);
    const int64_t now = wall_clock_us();
    w.StartObject();
    w.Key("epoch_ms");
    w.Int64(now / 1000);
    w.Key("epoch_us");
    w.Int64(now);
    w.Key("rfc3339");
    write_string(w, format_rfc3339_us(now));
    // With the client's own send and receive times these give its clock offset, as in
    // NTP: ((received - client_sent) + (sent - client_received)) / 2.
    w.Key("received_us");
    w.Int64(received);
    w.Key("sent_us");
    w.Int64(wall_clock_us());
    w.EndObject();
    return json_response(200, out);
}

Response get_random_string(Request& request) {
    HttpResult<ParamReader> parsed = read_params(request.query);
    if (!parsed.is_ok())
        return parsed.error();
    ParamReader& params = parsed.value();
    const int64_t length = params.integer("length", 1, kMaxLength).value_or(16);
    const int64_t count = params.integer("count", 1, kMaxCount).value_or(1);
    const std::string charset = params.text("charset").value_or("alphanumeric");
    std::string_view alphabet;
    if (charset == "alphanumeric")
        alphabet = kAlphanumeric;
    else if (charset == "hex")
        alphabet = "0123456789abcdef";
    else if (charset == "digits")
        alphabet = "0123456789";
    else if (charset == "urlsafe")
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    else
        params.fail("parameter 'charset' must be alphanumeric, hex, digits or urlsafe");
    if (HttpResult<> done = finish_params(params); !done.is_ok())
        return done.error();
    rapidjson::StringBuffer out;
    JsonWriter w(out);
    w.StartObject();
    w.Key("values");
    w.StartArray();
    for (int64_t i = 0; i < count; ++i)
        write_string(w, random_text(alphabet, static_cast<size_t>(length)));
    w.EndArray();
    w.EndObject();
    return json_response(200, out);
}

Response get_random_integer(Request& request) {
    HttpResult<ParamReader> parsed = read_params(request.query);
    if (!parsed.is_ok())
        return parsed.error();
    ParamReader& params = parsed.value();
    const int64_t min = params.integer("min", INT64_MIN, INT64_MAX).value_or(0);
    const int64_t max = params.integer("max", INT64_MIN, INT64_MAX).value_or(100);
    const int64_t count = params.integer("count", 1, kMaxCount).value_or(1);
    if (min > max)
        params.fail("parameter 'min' must not be above 'max'");
    if (HttpResult<> done = finish_params(params); !done.is_ok())
        return done.error();
    // The span as unsigned: max - min can exceed INT64_MAX.
    const uint64_t span = static_cast<uint64_t>(max) - static_cast<uint64_t>(min);
    rapidjson::StringBuffer out;
    JsonWriter w(out);
    w.StartObject();
    w.Key("values");
    w.StartArray();
    for (int64_t i = 0; i < count; ++i) {
        const uint64_t offset = span == UINT64_MAX ? random_u64() : random_below(span + 1);
        w.Int64(static_cast<int64_t>(static_cast<uint64_t>(min) + offset));
    }
    w.EndArray();
    w.EndObject();
    return json_response(200, out);
}

Response get_uuid(Request& request) {
    HttpResult<ParamReader> parsed = read_params(request.query);
    if (!parsed.is_ok())
        return parsed.error();
    ParamReader& params = parsed.value();
    // Read as text: any other value, number or not, gets the one message naming both.
    const std::string version_text = params.text("version").value_or("4");
    const int64_t count = params.integer("count", 1, kMaxCount).value_or(1);
    if (version_text != "1" && version_text != "4")
        params.fail("parameter 'version' must be 4 (random) or 1 (time-based), not '" +
                    version_text + "'");
    const int version = version_text == "1" ? 1 : 4;
    if (HttpResult<> done = finish_params(params); !done.is_ok())
        return done.error();
    rapidjson::StringBuffer out;
    JsonWriter w(out);
    w.StartObject();
    w.Key("uuids");
    w.StartArray();
    for (int64_t i = 0; i < count; ++i)
        write_string(w, new_uuid(version));
    w.EndArray();
    w.EndObject();
    return json_response(200, out);
}

}  // namespace

void add_utility_routes(Router& router, ApiContext& ctx) {
    router.add({"POST", "/api/v1/publish", Scope::kWrite,
                [&ctx](Request& r, const Principal& p) { return post_publish(ctx, r, p); }});
    router.add({"POST", "/api/v1/timestamp", Scope::kWrite,
                [&ctx](Request& r, const Principal& p) { return post_timestamp(ctx, r, p); }});
    router.add({"GET", "/api/v1/time", Scope::kRead,
                [](Request& r, const Principal&) { return get_time(r); }});
    router.add({"GET", "/api/v1/random/string", Scope::kRead,
                [](Request& r, const Principal&) { return get_random_string(r); }});
    router.add({"GET", "/api/v1/random/integer", Scope::kRead,
                [](Request& r, const Principal&) { return get_random_integer(r); }});
    router.add({"GET", "/api/v1/uuid", Scope::kRead,
                [](Request& r, const Principal&) { return get_uuid(r); }});
}

}  // namespace culex
