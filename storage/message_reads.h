// Reads of stored messages for the data API: one by id, a page of a series, time
// buckets of a numeric field, and topic summaries. Only read_topic_of sees soft-deleted
// rows.
//
// Each function runs on the caller's connection (from PgPool) and fills its output only
// on success. With a PartitionMap, reads by id and series read the partitions' own
// tables (partition_map.h says why), a series one partition at a time in its order;
// without one (nullptr), the partitioned table. A failed PgOutcome says what kind of
// failure it was; its message is for the log, never for an API client.
#pragma once

#include <optional>
#include <vector>

#include "common/message.h"
#include "message_query.h"
#include "partition_map.h"
#include "pg_connection.h"

namespace culex {

// `found` is empty when there is no live row with that id.
PgOutcome read_message(PgConnection& db, PartitionMap* partitions, int64_t id,
                       std::optional<StoredMessage>& found);

// The topic of row `id` when it exists and is soft-deleted (`deleted`) or live (not).
PgOutcome read_topic_of(PgConnection& db, PartitionMap* partitions, int64_t id, bool deleted,
                        std::optional<std::string>& topic);

// Up to page.limit + 1 rows in (received_at, id) order, starting after the cursor; the
// extra row tells the caller there is more.
PgOutcome read_series(PgConnection& db, PartitionMap* partitions, const MessageSelection& selection,
                      const PageRequest& page, std::vector<StoredMessage>& rows);

// Buckets of `bucket_us` aligned to the epoch, oldest first, over rows whose field at
// `path` is a JSON number; empty buckets are left out.
PgOutcome read_buckets(PgConnection& db, const MessageSelection& selection,
                       const std::vector<std::string>& path, int64_t bucket_us,
                       std::vector<AggregateBucket>& buckets);

// The live messages broker `broker` received on topics matching `filter` after the one
// received at `after_us` with number `after_seq`, in arrival order, at most `limit`.
// What a live-stream client missed. Rows inserted over HTTP (seq 0) are not arrivals.
PgOutcome read_arrivals_after(PgConnection& db, const std::string& broker,
                              const std::string& filter, int64_t after_us, uint64_t after_seq,
                              size_t limit, std::vector<Message>& rows);

// The record ids of messages broker `broker` stored (its writer's COPY does not return
// them), found by topic, receive time and arrival number: ids[i] is the id of
// *messages[i], or 0 when there is no such row.
PgOutcome read_record_ids(PgConnection& db, const std::string& broker,
                          const std::vector<const Message*>& messages, std::vector<int64_t>& ids);

// Topics matching `filter` that hold live messages, ordered by name (bytewise), after
// `after_name` when set, at most limit + 1.
PgOutcome read_topics(PgConnection& db, const std::string& filter,
                      const std::optional<std::string>& after_name, size_t limit,
                      std::vector<TopicSummary>& topics);

}  // namespace culex
