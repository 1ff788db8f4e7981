// Record ids for culex.message_store, assigned by the writer before a COPY.
//
// An id is (hour since the Unix epoch) * 2^33 + n: the hour of its received_at, so a read
// by id goes to one partition (culex.message_id_from/_until, migration 0006), and a
// per-hour number from culex.reserve_message_ids, which hands out blocks shared safely
// by every broker and the HTTP insert. Blocks are kept between batches and used up
// before the next, so a steady stream reserves once per kBlock messages, in a statement
// of its own (no transaction holds an hour's counter row). Ids a broker reserved but did
// not use (left when it stops, or when an hour's blocks are let go) are skipped, never
// reused. Owned and used by the writer thread.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <vector>

#include "common/message.h"
#include "pg_connection.h"

namespace culex {

inline constexpr int kMessageIdHourBits = 33;
// The earliest receive time an id can name: the start of hour 1 (hour 0 is the ids
// stored before migration 0006).
inline constexpr int64_t kFirstRecordHourUs = int64_t{3600} * 1000000;

// The hour `received_us` falls in, counted from the Unix epoch (floor division).
int64_t message_id_hour(int64_t received_us);

class MessageIds {
  public:
    // Sets the id of every message in `batch`. On error the ids are unspecified.
    PgOutcome assign(PgConnection& db, std::vector<Message>& batch);

  private:
    struct Block {
        int64_t next = 0;  // the next free id
        int64_t end = 0;   // one past the last reserved id
    };
    // Ids the blocks of `hour` still hold.
    int64_t available(int64_t hour) const;
    PgOutcome reserve(PgConnection& db, const std::map<int64_t, int64_t>& needed);

    // Ids reserved per round trip beyond what a batch needs: small enough that a
    // restart wastes little of an hour's 2^33, large enough that reserving is rare.
    static constexpr int64_t kBlock = 16384;
    // Hours kept: the current ones; older blocks (a spool replay's) are let go.
    static constexpr size_t kMaxHours = 4;
    std::map<int64_t, std::deque<Block>> blocks_;  // per hour, used in order
};

}  // namespace culex
