// Who is calling: bearer tokens checked against culex.api_tokens (by SHA-256) and the
// admin token from the configuration, which needs no database and so bootstraps the
// first admin.
//
// Token lookups are cached for a second, so a revoked token stops working within a
// second and a busy client costs one query per second. Thread-safe: civetweb workers
// call authenticate concurrently.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "storage/pg_pool.h"

namespace culex {

enum class Scope : unsigned { kNone = 0, kRead = 1, kWrite = 2, kAdmin = 4 };

// Parses "read", "write" or "admin".
std::optional<Scope> parse_scope(std::string_view name);
const char* scope_name(Scope scope);

struct Principal {
    std::string name;
    unsigned scopes = 0;  // Scope bits; admin implies read and write
    std::vector<std::string> topic_filters;
    // The configured admin token reaches every topic, `$` topics included.
    bool all_topics = false;

    bool has(Scope scope) const;
    // True when the token may touch `topic`, or every topic the filter `filter` matches.
    bool may_touch_topic(std::string_view topic) const;
    bool may_touch_filter(std::string_view filter) const;
};

struct AuthResult {
    int status = 200;  // 200, or 401 (no or unknown token) or 503 (cannot check now)
    std::string detail;
    Principal principal;
};

class Authenticator {
  public:
    // `admin_token` empty: no configured admin; only tokens in the database work.
    Authenticator(PgPool& pool, const std::string& admin_token);

    AuthResult authenticate(std::string_view authorization_header);

    // A new random token ("cx_" + 43 base64url characters) and its digest for storage.
    static std::string new_token();
    static std::string digest(std::string_view token);

  private:
    struct Cached {
        Principal principal;
        std::chrono::steady_clock::time_point expires;
    };

    PgPool& pool_;
    std::string admin_digest_;
    std::mutex mu_;
    std::unordered_map<std::string, Cached> cache_;
};

}  // namespace culex
