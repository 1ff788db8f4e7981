// What a streaming standby says about itself, and the rule that decides whether the
// HTTP API's reads may go to it (docs/storage.md, "Read replicas").
//
// The statements run on the caller's connection (one thread owns it) and fill their
// output only on success; a failed PgOutcome's message is for the log. judge_standby is
// pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "pg_connection.h"

namespace culex {

struct StandbyStatus {
    bool in_recovery = false;
    // pg_stat_wal_receiver.status ("streaming", "waiting", ...); nullopt when no WAL
    // receiver runs; empty when one runs but this role may not see its state (it lacks
    // pg_read_all_stats).
    std::optional<std::string> receiver;
    // How far replay is behind: 0 when everything received is replayed, else the time
    // since the last replayed commit was committed on the primary; nullopt when unknown
    // (nothing replayed yet).
    std::optional<int64_t> lag_ms;
};

PgOutcome read_standby_status(PgConnection& db, StandbyStatus& status);

enum class StandbyVerdict {
    kFit,      // reads may go there
    kLagging,  // replay is too far behind, which a moment of replay may cure
    kUnfit,    // not a streaming standby now (promoted, its WAL receiver down)
};
struct StandbyJudgement {
    StandbyVerdict verdict = StandbyVerdict::kUnfit;
    std::string why;  // what the standby does wrong, for the log ("lags 7200 ms"); empty when fit
};

// Whether reads that may lag `max_lag_ms` may go to a standby in `status`.
StandbyJudgement judge_standby(const StandbyStatus& status, int64_t max_lag_ms);

// The primary's current WAL write position: what a standby must have replayed to show
// everything committed so far.
PgOutcome read_wal_position(PgConnection& primary, std::string& lsn);

// Whether a standby has replayed WAL up to `lsn` (from read_wal_position).
PgOutcome read_replayed_to(PgConnection& standby, const std::string& lsn, bool& replayed);

}  // namespace culex
