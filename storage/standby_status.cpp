#include "standby_status.h"

#include <cstdlib>
#include <cstring>

namespace culex {

PgOutcome read_standby_status(PgConnection& db, StandbyStatus& status) {
    // An idle primary sends nothing, so the time since the last replayed commit grows
    // while the standby is fully up to date: that time is the lag only while received WAL
    // waits to be replayed. A standby that has just started can have received less than
    // it replayed, hence >=.
    PgOutcome outcome = db.exec(
        "SELECT pg_is_in_recovery(), (SELECT coalesce(status, '') FROM pg_stat_wal_receiver), "
        "CASE WHEN pg_last_wal_replay_lsn() >= pg_last_wal_receive_lsn() THEN 0 "
        "ELSE greatest(0, floor(extract(epoch FROM now() - pg_last_xact_replay_timestamp()) "
        "* 1000))::bigint END");
    if (!outcome.ok())
        return outcome;
    const PGresult* r = outcome.result.get();
    StandbyStatus read;
    read.in_recovery = std::strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    if (PQgetisnull(r, 0, 1) == 0)
        read.receiver = PQgetvalue(r, 0, 1);
    if (PQgetisnull(r, 0, 2) == 0)
        read.lag_ms = std::strtoll(PQgetvalue(r, 0, 2), nullptr, 10);
    status = std::move(read);
    return outcome;
}

StandbyJudgement judge_standby(const StandbyStatus& status, int64_t max_lag_ms) {
    if (!status.in_recovery)
        return {StandbyVerdict::kUnfit, "is not in recovery (a primary, or promoted)"};
    if (!status.receiver)
        return {StandbyVerdict::kUnfit, "has no WAL receiver (does not stream from a primary)"};
    // An empty state means this role may not see it; the lag rule still holds.
    if (!status.receiver->empty() && *status.receiver != "streaming")
        return {StandbyVerdict::kUnfit, "has a WAL receiver that is " + *status.receiver};
    if (!status.lag_ms)
        return {StandbyVerdict::kLagging, "has WAL to replay and no commit replayed yet"};
    if (*status.lag_ms > max_lag_ms)
        return {StandbyVerdict::kLagging, "lags " + std::to_string(*status.lag_ms) +
                                              " ms (read_max_lag_ms " + std::to_string(max_lag_ms) +
                                              ")"};
    return {StandbyVerdict::kFit, ""};
}

PgOutcome read_wal_position(PgConnection& primary, std::string& lsn) {
    PgOutcome outcome = primary.exec("SELECT pg_current_wal_lsn()::text");
    if (outcome.ok())
        lsn = PQgetvalue(outcome.result.get(), 0, 0);
    return outcome;
}

PgOutcome read_replayed_to(PgConnection& standby, const std::string& lsn, bool& replayed) {
    PgOutcome outcome =
        standby.exec("SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false)", {lsn});
    if (outcome.ok())
        replayed = std::strcmp(PQgetvalue(outcome.result.get(), 0, 0), "t") == 0;
    return outcome;
}

}  // namespace culex
