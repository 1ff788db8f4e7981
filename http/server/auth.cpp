#include "auth.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cctype>
#include <stdexcept>

#include "common/base64.h"
#include "common/topic_filter.h"
#include "storage/api_tokens.h"

namespace culex {
namespace {

constexpr auto kCacheTtl = std::chrono::seconds(1);
constexpr size_t kMaxCached = 10000;
constexpr size_t kMaxTokenLength = 512;

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size())
        return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    }
    return true;
}

}  // namespace

std::optional<Scope> parse_scope(std::string_view name) {
    if (name == "read")
        return Scope::kRead;
    if (name == "write")
        return Scope::kWrite;
    if (name == "admin")
        return Scope::kAdmin;
    return std::nullopt;
}

const char* scope_name(Scope scope) {
    switch (scope) {
        case Scope::kRead:
            return "read";
        case Scope::kWrite:
            return "write";
        case Scope::kAdmin:
            return "admin";
        case Scope::kNone:
            break;
    }
    return "none";
}

bool Principal::has(Scope scope) const {
    if ((scopes & static_cast<unsigned>(Scope::kAdmin)) != 0)
        return true;
    return (scopes & static_cast<unsigned>(scope)) != 0;
}

bool Principal::may_touch_topic(std::string_view topic) const {
    if (all_topics)
        return true;
    for (const std::string& f : topic_filters) {
        if (topic_matches(f, topic))
            return true;
    }
    return false;
}

bool Principal::may_touch_filter(std::string_view filter) const {
    if (all_topics)
        return true;
    for (const std::string& f : topic_filters) {
        if (filter_covers(f, filter))
            return true;
    }
    return false;
}

Authenticator::Authenticator(PgPool& pool, const std::string& admin_token)
    : pool_(pool), admin_digest_(admin_token.empty() ? "" : digest(admin_token)) {}

std::string Authenticator::digest(std::string_view token) {
    unsigned char out[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), out);
    return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

std::string Authenticator::new_token() {
    unsigned char bytes[32];
    if (RAND_bytes(bytes, sizeof bytes) != 1)
        throw std::runtime_error("the system random generator failed");
    return "cx_" +
           base64url_encode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

AuthResult Authenticator::authenticate(std::string_view header) {
    AuthResult result;
    result.status = 401;
    const size_t space = header.find(' ');
    if (header.empty()) {
        result.detail = "this endpoint needs 'Authorization: Bearer <token>'";
        return result;
    }
    if (space == std::string_view::npos || !iequals(header.substr(0, space), "Bearer")) {
        result.detail = "the Authorization header must be 'Bearer <token>'";
        return result;
    }
    std::string_view token = header.substr(space + 1);
    while (!token.empty() && token.front() == ' ')
        token.remove_prefix(1);
    if (token.empty() || token.size() > kMaxTokenLength) {
        result.detail = "the bearer token is missing or too long";
        return result;
    }
    const std::string key = digest(token);
    if (!admin_digest_.empty() &&
        CRYPTO_memcmp(key.data(), admin_digest_.data(), key.size()) == 0) {
        result.status = 200;
        result.principal.name = "admin (configured)";
        result.principal.scopes = static_cast<unsigned>(Scope::kAdmin) |
                                  static_cast<unsigned>(Scope::kRead) |
                                  static_cast<unsigned>(Scope::kWrite);
        result.principal.all_topics = true;
        return result;
    }
    const auto now = std::chrono::steady_clock::now();
    {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = cache_.find(key);
        if (it != cache_.end() && it->second.expires > now) {
            result.status = 200;
            result.principal = it->second.principal;
            return result;
        }
    }
    Result<PgPool::Lease> lease = pool_.acquire(kConnectionWait);
    if (!lease.is_ok()) {
        result.status = 503;
        result.detail = "cannot check the token now: " + lease.status().message();
        return result;
    }
    std::optional<ApiToken> token_row;
    PgOutcome found = find_token(lease.value().db(), key, token_row);
    if (!found.ok()) {
        if (found.error == PgErrorKind::kConnection)
            lease.value().discard();
        result.status = 503;
        result.detail = "cannot check the token now: the database is unavailable";
        return result;
    }
    if (!token_row) {
        result.detail = "the bearer token is unknown or revoked";
        return result;
    }
    result.status = 200;
    result.principal.name = token_row->name;
    for (const std::string& s : token_row->scopes) {
        if (std::optional<Scope> scope = parse_scope(s))
            result.principal.scopes |= static_cast<unsigned>(*scope);
    }
    result.principal.topic_filters = token_row->topic_filters;
    std::lock_guard<std::mutex> lock(mu_);
    if (cache_.size() >= kMaxCached)
        cache_.clear();
    cache_[key] = Cached{result.principal, now + kCacheTtl};
    return result;
}

}  // namespace culex
