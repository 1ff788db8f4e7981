// Maps topic names to the integer ids of culex.topics, creating rows for new topics.
//
// Keeps every id it has seen in memory: the new topics of a batch cost one database
// round trip together, known topics none. Owned and used by the writer thread.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/message.h"
#include "pg_connection.h"

namespace culex {

class TopicIds {
  public:
    // Sets ids[i] to the id of batch[i].topic. On error ids is unspecified.
    PgOutcome resolve(PgConnection& db, const std::vector<Message>& batch,
                      std::vector<int32_t>& ids);

  private:
    PgOutcome register_all(PgConnection& db, const std::vector<const std::string*>& topics);
    PgOutcome lookup_or_create(PgConnection& db, const std::string& topic, int32_t& id);

    // Bounds the cache for brokers that see endless distinct topics.
    static constexpr size_t kMaxCached = 1000000;
    std::unordered_map<std::string, int32_t> cache_;
};

}  // namespace culex
