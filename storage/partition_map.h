// The partitions of culex.message_store by time, for the API's reads to query one
// partition's own table instead of the partitioned one.
//
// Why: PostgreSQL 15 plans a statement on a partitioned table anew for each execution
// (a generic plan would lock every partition each time), which costs more than the
// read itself (about 0.3 ms with 30 partitions against 0.03 ms to run it), while a
// statement on one partition is planned once per connection. Partitions are made
// three intervals ahead and their bounds never change, so a map a second old is right
// for every partition but one that another broker made within that second for an old
// or future time; reads fall back to the partitioned table wherever the map has no
// partition, and when a partition in it is gone (the map is then refreshed).
//
// Shared by the API's worker threads; refreshed from the catalog at most once a second
// by the thread that finds it old, on that thread's connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "partitions.h"
#include "pg_connection.h"

namespace culex {

class PartitionMap {
  public:
    // The partitions, oldest first, refreshed first when the map is older than kMaxAge.
    // A failed refresh keeps the old map (perhaps empty: reads then use the partitioned
    // table).
    std::shared_ptr<const std::vector<Leaf>> leaves(PgConnection& db);
    // After a statement found a partition gone: the next call refreshes.
    void invalidate();

    static constexpr std::chrono::seconds kMaxAge{1};

  private:
    std::mutex mu_;
    std::shared_ptr<const std::vector<Leaf>> leaves_ = std::make_shared<std::vector<Leaf>>();
    SteadyClock::time_point loaded_{};
    bool loaded_once_ = false;
};

}  // namespace culex
