// A small pool of PostgreSQL connections for the HTTP API's reads and writes, separate
// from the ingest writer's connection so that a slow query never delays ingest.
//
// Connections open lazily and, unless the pool is for a read-only standby (kAsIs), the
// schema is migrated on the first one. Each connection's
// statements are cancelled past `statement_timeout` (zero: no limit), so one slow query
// cannot hold a connection for long (PgErrorKind::kCanceled). After a failed
// connect the pool answers "unavailable" at once for a second instead of making every
// request wait for the connect timeout. Thread-safe; a Lease belongs to the thread that
// acquired it until it is destroyed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "pg_connection.h"

namespace culex {

// How long an API request waits for a free connection before it is answered 503
// (docs/configuration.md, http_db_connections).
inline constexpr std::chrono::seconds kConnectionWait{5};

class PgPool {
  public:
    enum class Schema { kMigrate, kAsIs };
    PgPool(std::string conninfo, size_t size,
           std::chrono::milliseconds statement_timeout = std::chrono::milliseconds(0),
           Schema schema = Schema::kMigrate);
    PgPool(const PgPool&) = delete;
    PgPool& operator=(const PgPool&) = delete;

    class Lease {
      public:
        Lease(Lease&& other) noexcept : pool_(other.pool_), db_(std::move(other.db_)) {}
        Lease& operator=(Lease&&) = delete;
        ~Lease();
        PgConnection& db() { return *db_; }
        // Closes the connection when it is returned, after an error that may have left it
        // unusable; the next lease reconnects.
        void discard() { discard_ = true; }

      private:
        friend class PgPool;
        Lease(PgPool* pool, std::unique_ptr<PgConnection> db) : pool_(pool), db_(std::move(db)) {}
        PgPool* pool_;
        std::unique_ptr<PgConnection> db_;
        bool discard_ = false;
    };

    // A connected connection, waiting up to `wait` for one to be free. The error says
    // why there is none (database unreachable, pool busy); callers answer 503.
    Result<Lease> acquire(std::chrono::milliseconds wait);

  private:
    void give_back(std::unique_ptr<PgConnection> db, bool discard);

    const std::string conninfo_;
    const std::chrono::milliseconds statement_timeout_;
    std::mutex mu_;
    std::condition_variable freed_;
    std::vector<std::unique_ptr<PgConnection>> idle_;
    size_t out_ = 0;  // connections leased or being opened
    const size_t size_;
    bool migrated_;
    std::chrono::steady_clock::time_point failed_until_{};
    std::string last_failure_;
};

}  // namespace culex
