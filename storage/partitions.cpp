#include "partitions.h"

#include <algorithm>
#include <cstdlib>
#include <limits>

#include "message_sql.h"

namespace culex {
namespace {

int64_t to_integer(const PGresult* r, int row, int col) {
    return std::strtoll(PQgetvalue(r, row, col), nullptr, 10);
}

}  // namespace

PgOutcome read_partitions(PgConnection& db, bool sizes, std::vector<PartitionInfo>& partitions) {
    const std::string sql =
        std::string(
            "SELECT name, partition::text, CASE WHEN range_from > '-infinity' THEN"
            " (extract(epoch FROM range_from) * 1000000)::bigint END,"
            " (extract(epoch FROM range_to) * 1000000)::bigint, ") +
        (sizes ? "c.reltuples::bigint, pg_total_relation_size(c.oid)" : "0, 0") +
        " FROM culex.message_partitions p JOIN pg_class c ON c.oid ="
        " p.partition ORDER BY range_from";
    PgOutcome outcome = db.exec(sql.c_str());
    if (!outcome.ok())
        return outcome;
    const PGresult* r = outcome.result.get();
    partitions.clear();
    for (int row = 0; row < PQntuples(r); ++row) {
        PartitionInfo p;
        p.name = PQgetvalue(r, row, 0);
        p.table = PQgetvalue(r, row, 1);
        if (!PQgetisnull(r, row, 2))
            p.from_us = to_integer(r, row, 2);
        p.until_us = to_integer(r, row, 3);
        p.estimated_rows = to_integer(r, row, 4);
        p.bytes = to_integer(r, row, 5);
        partitions.push_back(std::move(p));
    }
    return outcome;
}

PgOutcome read_leaves(PgConnection& db, std::vector<Leaf>& leaves) {
    std::vector<PartitionInfo> partitions;
    PgOutcome read = read_partitions(db, false, partitions);
    if (!read.ok())
        return read;
    leaves.clear();
    for (PartitionInfo& p : partitions) {
        leaves.push_back(Leaf{p.from_us.value_or(std::numeric_limits<int64_t>::min()), p.until_us,
                              std::move(p.table)});
    }
    return read;
}

const Leaf* leaf_holding(const std::vector<Leaf>& leaves, int64_t from_us, int64_t until_us) {
    auto it = std::upper_bound(leaves.begin(), leaves.end(), from_us,
                               [](int64_t t, const Leaf& l) { return t < l.from_us; });
    if (it == leaves.begin())
        return nullptr;
    const Leaf& leaf = *std::prev(it);
    return from_us < leaf.until_us && until_us <= leaf.until_us ? &leaf : nullptr;
}

PgOutcome read_message_span(PgConnection& db, std::optional<int64_t>& oldest_us,
                            std::optional<int64_t>& newest_us) {
    PgOutcome outcome = db.exec(
        "SELECT (SELECT (extract(epoch FROM received_at) * 1000000)::bigint"
        " FROM culex.message_store WHERE deleted_at IS NULL ORDER BY id LIMIT 1),"
        " (SELECT (extract(epoch FROM received_at) * 1000000)::bigint"
        " FROM culex.message_store WHERE deleted_at IS NULL ORDER BY id DESC LIMIT 1)");
    if (!outcome.ok())
        return outcome;
    const PGresult* r = outcome.result.get();
    oldest_us.reset();
    newest_us.reset();
    if (!PQgetisnull(r, 0, 0))
        oldest_us = to_integer(r, 0, 0);
    if (!PQgetisnull(r, 0, 1))
        newest_us = to_integer(r, 0, 1);
    return outcome;
}

PgOutcome create_partition_for(PgConnection& db, int64_t at_us, int width_hours,
                               std::optional<std::string>& created) {
    SqlParams params;
    const std::string at = micros_to_timestamptz(params.add(std::to_string(at_us)));
    const std::string sql = "SELECT culex.create_message_partition(" + at + ", " +
                            params.add(std::to_string(width_hours)) + "::integer)";
    PgOutcome outcome = db.exec(sql.c_str(), params.values());
    created.reset();
    if (outcome.ok() && !PQgetisnull(outcome.result.get(), 0, 0))
        created = PQgetvalue(outcome.result.get(), 0, 0);
    return outcome;
}

bool PartitionCover::covers(int64_t at_us) const {
    return leaf_holding(known_, at_us, at_us + 1) != nullptr;
}

PgOutcome PartitionCover::refresh(PgConnection& db) {
    return read_leaves(db, known_);
}

PgOutcome PartitionCover::ensure(PgConnection& db, const std::vector<Message>& batch,
                                 int width_hours, std::vector<std::string>& created) {
    created.clear();
    bool refreshed = false;
    for (const Message& m : batch) {
        if (covers(m.received_us))
            continue;
        if (!refreshed) {
            refreshed = true;
            PgOutcome read = refresh(db);
            if (!read.ok())
                return read;
            if (covers(m.received_us))
                continue;
        }
        std::optional<std::string> made;
        PgOutcome made_outcome = create_partition_for(db, m.received_us, width_hours, made);
        if (!made_outcome.ok())
            return made_outcome;
        if (made)
            created.push_back(*made);
        PgOutcome read = refresh(db);
        if (!read.ok())
            return read;
    }
    return PgOutcome{};
}

}  // namespace culex
