// One libpq connection, owned and used by a single thread.
//
// Wraps the few libpq calls the storage code needs and classifies failures, because
// what to do next depends on the kind: a lost connection is retried with backoff, a
// row the server refuses is isolated, anything else is retried and logged.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"

namespace culex {

struct PgResultDeleter {
    void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, PgResultDeleter>;

enum class PgErrorKind {
    kNone,
    kConnection,  // the connection is gone or the server is shutting down: reconnect
    kBadRow,      // a value was refused (SQLSTATE class 22 or 23): isolate the row
    kCanceled,    // the statement ran past statement_timeout (57014) and was cancelled
    kOther,       // anything else (permissions, missing table, ...): retry later
};

struct PgOutcome {
    PgResult result;
    PgErrorKind error = PgErrorKind::kNone;
    std::string message;  // one line, for the log; empty when ok
    bool ok() const { return error == PgErrorKind::kNone; }
};

// The value at (row, col) of a result as bytes (text or binary format; NUL-safe).
inline std::string pg_value(const PGresult* r, int row, int col) {
    return std::string(PQgetvalue(r, row, col), static_cast<size_t>(PQgetlength(r, row, col)));
}

// Ok when libpq can parse `conninfo` (key=value string or URI). Never connects.
Status validate_conninfo(const std::string& conninfo);

class PgConnection {
  public:
    explicit PgConnection(std::string conninfo);
    ~PgConnection();
    PgConnection(const PgConnection&) = delete;
    PgConnection& operator=(const PgConnection&) = delete;

    // Opens a fresh connection (closing any old one). Blocks up to the connect timeout.
    Status connect();
    void close();
    bool is_open() const;

    // Runs one statement with text parameters (NUL-terminated, no NULLs).
    PgOutcome exec(const char* sql, const std::vector<std::string>& params = {});
    // Like exec, but prepares `sql` on first use and reuses its plan on this connection.
    // At most kMaxPrepared statements stay prepared: when full, the kEvictedAtOnce least
    // recently used are deallocated in one round trip, since reads name partitions and
    // the partitions of a long-running broker keep changing. With binary_results the values come in
    // PostgreSQL's binary format.
    PgOutcome exec_prepared(const std::string& sql, const std::vector<std::string>& params,
                            bool binary_results = false);
    static constexpr size_t kMaxPrepared = 256;
    static constexpr size_t kEvictedAtOnce = kMaxPrepared / 4;
    // Runs a prepared statement in single-row mode: on_row sees each row as it arrives
    // (binary format), so a large result never sits in memory whole. The returned outcome
    // has no result rows.
    PgOutcome exec_each_row(const std::string& sql, const std::vector<std::string>& params,
                            const std::function<void(const PGresult*)>& on_row);
    // Runs a script of one or more statements without parameters.
    PgOutcome exec_script(const char* sql);
    // COPY ... FROM STDIN with `data` as the whole input, as one statement.
    PgOutcome copy_in(const char* copy_sql, const std::string& data);
    // Reads what the server sent without waiting and counts the NOTIFY messages among
    // it (for channels this connection LISTENs on), into `count`.
    PgOutcome take_notifications(int& count);

  private:
    PgOutcome classify(PgResult result);
    PgOutcome connection_failure();

    // The name of `sql`'s prepared statement, preparing it now if needed; empty when it
    // could not be prepared (the error is then in `failure`).
    std::string prepared_name(const std::string& sql, size_t param_count, PgOutcome& failure);

    struct Prepared {
        std::string name;
        std::list<std::string>::iterator use;  // its place in recent_
    };
    const std::string conninfo_;
    PGconn* conn_ = nullptr;
    std::unordered_map<std::string, Prepared> prepared_;
    std::list<std::string> recent_;  // the prepared statements' SQL, most recently used first
    uint64_t prepared_count_ = 0;    // names them; never reused on one connection
};

}  // namespace culex
