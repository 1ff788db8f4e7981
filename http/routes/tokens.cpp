// Token administration (admin scope): create, list and revoke API tokens.
#include <set>

#include "common/time_text.h"
#include "common/topic_filter.h"
#include "http/server/problem.h"
#include "replies.h"
#include "routes.h"
#include "storage/api_tokens.h"

namespace culex {
namespace {

constexpr size_t kMaxNameLength = 200;
constexpr size_t kMaxFilters = 100;

void write_token(JsonWriter& w, const ApiToken& t, const std::string* secret) {
    w.StartObject();
    w.Key("name");
    write_string(w, t.name);
    if (secret != nullptr) {
        w.Key("token");
        write_string(w, *secret);
    }
    w.Key("scopes");
    w.StartArray();
    for (const std::string& s : t.scopes)
        write_string(w, s);
    w.EndArray();
    w.Key("topic_filters");
    w.StartArray();
    for (const std::string& f : t.topic_filters)
        write_string(w, f);
    w.EndArray();
    w.Key("created_at");
    write_string(w, format_rfc3339_us(t.created_us));
    w.EndObject();
}

// A string array field; 400 when it is not one.
HttpResult<std::vector<std::string>> string_list(const rapidjson::Value& v, const char* field) {
    if (!v.IsArray() || v.Empty() || v.Size() > kMaxFilters)
        return problem(400,
                       std::string("field '") + field + "' must be a list of 1 to 100 strings");
    std::vector<std::string> out;
    for (const auto& item : v.GetArray()) {
        if (!item.IsString())
            return problem(400, std::string("field '") + field + "' must hold strings only");
        out.emplace_back(item.GetString(), item.GetStringLength());
    }
    return out;
}

Response create(ApiContext& ctx, Request& request) {
    if (HttpResult<> none = no_query(request); !none.is_ok())
        return none.error();
    HttpResult<rapidjson::Document> body = json_body(request, {"name", "scopes", "topic_filters"});
    if (!body.is_ok())
        return body.error();
    const rapidjson::Document& doc = body.value();
    ApiToken token;
    if (!doc.HasMember("name") || !doc["name"].IsString() || doc["name"].GetStringLength() == 0 ||
        doc["name"].GetStringLength() > kMaxNameLength)
        return problem(400, "field 'name' must be a string of 1 to 200 characters");
    token.name.assign(doc["name"].GetString(), doc["name"].GetStringLength());
    if (token.name.find('\0') != std::string::npos)
        return problem(400, "field 'name' cannot contain NUL");
    if (!doc.HasMember("scopes"))
        return problem(400, "field 'scopes' is required: a list of read, write, admin");
    HttpResult<std::vector<std::string>> scopes = string_list(doc["scopes"], "scopes");
    if (!scopes.is_ok())
        return scopes.error();
    token.scopes = std::move(scopes.value());
    std::set<std::string> unique;
    for (const std::string& s : token.scopes) {
        if (!parse_scope(s))
            return problem(400, "unknown scope '" + s + "': use read, write or admin");
        unique.insert(s);
    }
    token.scopes.assign(unique.begin(), unique.end());
    if (doc.HasMember("topic_filters")) {
        HttpResult<std::vector<std::string>> filters =
            string_list(doc["topic_filters"], "topic_filters");
        if (!filters.is_ok())
            return filters.error();
        token.topic_filters = std::move(filters.value());
        for (const std::string& f : token.topic_filters) {
            if (Status valid = validate_topic_filter(f); !valid.is_ok())
                return problem(400, "field 'topic_filters': " + valid.message());
        }
    } else {
        token.topic_filters = {"#"};
    }
    const std::string secret = Authenticator::new_token();
    HttpResult<PgPool::Lease> lease = lease_connection(ctx);
    if (!lease.is_ok())
        return lease.error();
    ApiToken created;
    PgOutcome outcome =
        create_token(lease.value().db(), token, Authenticator::digest(secret), created);
    if (outcome.error == PgErrorKind::kBadRow)
        return problem(409, "a token named '" + token.name + "' exists; revoke it first");
    if (!outcome.ok())
        return database_failure(ctx, lease.value(), outcome);
    rapidjson::StringBuffer out;
    JsonWriter w(out);
    write_token(w, created, &secret);
    return json_response(201, out);
}

Response list(ApiContext& ctx, Request& request) {
    if (HttpResult<> none = no_query(request); !none.is_ok())
        return none.error();
    HttpResult<PgPool::Lease> lease = lease_connection(ctx);
    if (!lease.is_ok())
        return lease.error();
    std::vector<ApiToken> tokens;
    PgOutcome outcome = list_tokens(lease.value().db(), tokens);
    if (!outcome.ok())
        return database_failure(ctx, lease.value(), outcome);
    rapidjson::StringBuffer out;
    JsonWriter w(out);
    w.StartObject();
    w.Key("items");
    w.StartArray();
    for (const ApiToken& t : tokens)
        write_token(w, t, nullptr);
    w.EndArray();
    w.EndObject();
    return json_response(200, out);
}

Response revoke(ApiContext& ctx, Request& request) {
    if (HttpResult<> none = no_query(request); !none.is_ok())
        return none.error();
    HttpResult<PgPool::Lease> lease = lease_connection(ctx);
    if (!lease.is_ok())
        return lease.error();
    bool revoked = false;
    PgOutcome outcome = revoke_token(lease.value().db(), request.path_params[0], revoked);
    if (!outcome.ok())
        return database_failure(ctx, lease.value(), outcome);
    if (!revoked)
        return problem(404, "no live token named '" + request.path_params[0] + "'");
    return no_content();
}

}  // namespace

void add_token_routes(Router& router, ApiContext& ctx) {
    router.add({"GET", "/api/v1/tokens", Scope::kAdmin,
                [&ctx](Request& r, const Principal&) { return list(ctx, r); }});
    router.add({"POST", "/api/v1/tokens", Scope::kAdmin,
                [&ctx](Request& r, const Principal&) { return create(ctx, r); }});
    router.add({"DELETE", "/api/v1/tokens/{name}", Scope::kAdmin,
                [&ctx](Request& r, const Principal&) { return revoke(ctx, r); }});
}

}  // namespace culex
