// Bearer tokens of the HTTP API in culex.api_tokens. Only each token's SHA-256 is
// stored; the token itself is shown once, when it is created.
//
// Functions run one statement on the caller's connection and fill outputs only on
// success. Creating a token whose name a live token has fails with kBadRow (the caller
// answers 409).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "pg_connection.h"

namespace culex {

struct ApiToken {
    int64_t id = 0;
    std::string name;
    std::vector<std::string> scopes;         // "read", "write", "admin"
    std::vector<std::string> topic_filters;  // MQTT filters bounding what it can touch
    int64_t created_us = 0;
};

// The live (not revoked) token with this digest, if any.
PgOutcome find_token(PgConnection& db, const std::string& sha256, std::optional<ApiToken>& found);

PgOutcome create_token(PgConnection& db, const ApiToken& token, const std::string& sha256,
                       ApiToken& created);

// Live tokens by name.
PgOutcome list_tokens(PgConnection& db, std::vector<ApiToken>& tokens);

// Revokes the live token named `name`; `revoked` is false when there is none.
PgOutcome revoke_token(PgConnection& db, const std::string& name, bool& revoked);

}  // namespace culex
