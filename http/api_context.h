// What the API handlers share: the reader pool, the authenticator, the log and the
// settings. Owned by the plugin's Platform; outlives the HTTP server. Every member is
// safe to use from civetweb's worker threads.
#pragma once

#include "auth.h"
#include "culex/config.h"
#include "culex/log.h"
#include "storage/pg_pool.h"

namespace culex {

struct ApiContext {
    const Config& config;
    PgPool& pool;
    Authenticator& auth;
    LogQueue& log;
};

}  // namespace culex
