#include "api_tokens.h"

#include <rapidjson/document.h>

#include <cstdlib>

#include "message_sql.h"
#include "pg_array.h"

namespace culex {
namespace {

constexpr const char* kColumns =
    "id, name, to_json(scopes)::text, to_json(topic_filters)::text,"
    " (extract(epoch FROM created_at) * 1000000)::bigint";

std::vector<std::string> json_strings(const char* text) {
    std::vector<std::string> out;
    rapidjson::Document doc;
    doc.Parse(text);
    if (doc.IsArray()) {
        for (const auto& v : doc.GetArray()) {
            if (v.IsString())
                out.emplace_back(v.GetString(), v.GetStringLength());
        }
    }
    return out;
}

ApiToken row_to_token(PGresult* r, int row) {
    ApiToken t;
    t.id = std::strtoll(PQgetvalue(r, row, 0), nullptr, 10);
    t.name = pg_value(r, row, 1);
    t.scopes = json_strings(PQgetvalue(r, row, 2));
    t.topic_filters = json_strings(PQgetvalue(r, row, 3));
    t.created_us = std::strtoll(PQgetvalue(r, row, 4), nullptr, 10);
    return t;
}

}  // namespace

PgOutcome find_token(PgConnection& db, const std::string& sha256, std::optional<ApiToken>& found) {
    SqlParams params;
    const std::string sql =
        std::string("SELECT ") + kColumns +
        " FROM culex.api_tokens WHERE token_sha256 = " + params.add_bytes(sha256) +
        " AND revoked_at IS NULL";
    PgOutcome outcome = db.exec(sql.c_str(), params.values());
    if (!outcome.ok())
        return outcome;
    found.reset();
    if (PQntuples(outcome.result.get()) > 0)
        found = row_to_token(outcome.result.get(), 0);
    return outcome;
}

PgOutcome create_token(PgConnection& db, const ApiToken& token, const std::string& sha256,
                       ApiToken& created) {
    SqlParams params;
    const std::string sql =
        "INSERT INTO culex.api_tokens (name, token_sha256, scopes, topic_filters) VALUES (" +
        params.add(token.name) + ", " + params.add_bytes(sha256) + ", " +
        params.add(pg_text_array(token.scopes)) + "::text[], " +
        params.add(pg_text_array(token.topic_filters)) + "::text[]) RETURNING " + kColumns;
    PgOutcome outcome = db.exec(sql.c_str(), params.values());
    if (outcome.ok())
        created = row_to_token(outcome.result.get(), 0);
    return outcome;
}

PgOutcome list_tokens(PgConnection& db, std::vector<ApiToken>& tokens) {
    const std::string sql = std::string("SELECT ") + kColumns +
                            " FROM culex.api_tokens WHERE revoked_at IS NULL"
                            " ORDER BY name COLLATE \"C\"";
    PgOutcome outcome = db.exec(sql.c_str());
    if (!outcome.ok())
        return outcome;
    tokens.clear();
    for (int i = 0; i < PQntuples(outcome.result.get()); ++i)
        tokens.push_back(row_to_token(outcome.result.get(), i));
    return outcome;
}

PgOutcome revoke_token(PgConnection& db, const std::string& name, bool& revoked) {
    PgOutcome outcome = db.exec(
        "UPDATE culex.api_tokens SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL",
        {name});
    if (outcome.ok())
        revoked = std::strtol(PQcmdTuples(outcome.result.get()), nullptr, 10) > 0;
    return outcome;
}

}  // namespace culex
