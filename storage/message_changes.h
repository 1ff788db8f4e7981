// Changes to stored messages through the data API: insert one, soft-delete (hide from
// reads) and purge (remove for good rows already soft-deleted).
//
// One statement or transaction per call on the caller's connection; outputs are filled
// only on success. A failed PgOutcome's message is for the log, never for a client.
#pragma once

#include <optional>
#include <string>

#include "message_query.h"
#include "partition_map.h"
#include "pg_connection.h"

namespace culex {

// Stores `message` as sent by broker `broker_name`, with a jsonb copy when store_json
// and the payload is storable JSON, received now (this machine's clock, as the writer's
// rows) unless it says when. With partition_hours > 0, a missing partition for that
// time is made first (partitions.h), and `partitions` (when given) told of it. Sets `id`
// and `received_us` of the new row.
PgOutcome insert_message(PgConnection& db, const NewMessage& message,
                         const std::string& broker_name, bool store_json, int partition_hours,
                         PartitionMap* partitions, int64_t& id, int64_t& received_us);

// Which rows of a selection a delete takes: all, or only the oldest or newest N live.
struct DeleteScope {
    enum class Kind { kAll, kOldest, kNewest };
    Kind kind = Kind::kAll;
    int64_t count = 0;
};

// Soft-deletes the selected live rows. matched counts the rows the selection names in
// any state; changed, those this call hid.
PgOutcome soft_delete(PgConnection& db, const MessageSelection& selection, DeleteScope scope,
                      ChangeCount& count);

// Removes the selected rows that are soft-deleted. matched counts the rows the
// selection names in any state; changed, those removed.
PgOutcome purge(PgConnection& db, const MessageSelection& selection, DeleteScope scope,
                ChangeCount& count);

}  // namespace culex
