// The time partitions of culex.message_store (migration 0006): their bounds and sizes,
// and creating the one a receive time needs.
//
// Partitions are `width_hours` wide and aligned to UTC (whole days for day widths);
// culex.create_message_partition clips a new one to its neighbours when the width has
// changed, and serialises creators across brokers with an advisory lock. There is no
// DEFAULT partition: a row it held would block creating the partition it belongs to, so
// a time without a partition gets one made instead (PartitionCover). The functions use
// the connection they are given, on the caller's thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/message.h"
#include "pg_connection.h"

namespace culex {

struct PartitionInfo {
    std::string name;                // in schema culex
    std::string table;               // qualified and quoted as SQL needs it
    std::optional<int64_t> from_us;  // inclusive; none: from the beginning (MINVALUE)
    int64_t until_us = 0;            // exclusive
    int64_t estimated_rows = 0;      // pg_class.reltuples; -1 before the first ANALYZE
    int64_t bytes = 0;               // table, indexes and TOAST
};

// All partitions, oldest first. With `sizes` false, estimated_rows and bytes are 0 and
// the catalog is not asked for them.
PgOutcome read_partitions(PgConnection& db, bool sizes, std::vector<PartitionInfo>& partitions);

// A partition's range and table, as the writer and the API's reads keep them.
struct Leaf {
    int64_t from_us = 0;   // inclusive; INT64_MIN for the first partition of a migrated table
    int64_t until_us = 0;  // exclusive
    std::string table;     // qualified and quoted
};

// All partitions as leaves, oldest first; `leaves` is left as it was on error.
PgOutcome read_leaves(PgConnection& db, std::vector<Leaf>& leaves);

// The leaf (of `leaves`, oldest first) holding all of [from_us, until_us), or nullptr.
const Leaf* leaf_holding(const std::vector<Leaf>& leaves, int64_t from_us, int64_t until_us);

// Receive times of the live rows with the lowest and the highest id, found through the
// primary keys without scanning: for one broker the oldest and newest message, with
// several brokers within the hour of them (ids are handed out in blocks). Unset when
// there are no rows.
PgOutcome read_message_span(PgConnection& db, std::optional<int64_t>& oldest_us,
                            std::optional<int64_t>& newest_us);

// Makes sure a partition holds `at_us`; `created` names the new one, if one was made.
PgOutcome create_partition_for(PgConnection& db, int64_t at_us, int width_hours,
                               std::optional<std::string>& created);

// The writer's memory of which times have a partition, so that a batch costs no round
// trip unless a message falls outside every partition it knows (a new interval, a clock
// step, a spool replay of old messages). Owned by one thread.
class PartitionCover {
  public:
    // Creates what batch needs; `created` gets the names of partitions made.
    PgOutcome ensure(PgConnection& db, const std::vector<Message>& batch, int width_hours,
                     std::vector<std::string>& created);
    // Forgets what is known (a partition may have been dropped meanwhile).
    void forget() { known_.clear(); }

  private:
    bool covers(int64_t at_us) const;
    PgOutcome refresh(PgConnection& db);

    std::vector<Leaf> known_;  // oldest first
};

}  // namespace culex
