#include "partition_map.h"

#include <algorithm>
#include <limits>

#include "partitions.h"

namespace culex {

std::shared_ptr<const std::vector<Leaf>> PartitionMap::leaves(PgConnection& db) {
    std::unique_lock<std::mutex> lock(mu_);
    const auto now = SteadyClock::now();
    if (loaded_once_ && now - loaded_ < kMaxAge)
        return leaves_;
    std::vector<PartitionInfo> partitions;
    if (!read_partitions(db, false, partitions).ok())
        return leaves_;
    auto fresh = std::make_shared<std::vector<Leaf>>();
    for (PartitionInfo& p : partitions) {
        fresh->push_back(Leaf{p.from_us.value_or(std::numeric_limits<int64_t>::min()), p.until_us,
                              std::move(p.table)});
    }
    leaves_ = std::move(fresh);
    loaded_ = now;
    loaded_once_ = true;
    return leaves_;
}

void PartitionMap::invalidate() {
    std::lock_guard<std::mutex> lock(mu_);
    loaded_once_ = false;
}

const Leaf* leaf_holding(const std::vector<Leaf>& leaves, int64_t from_us, int64_t until_us) {
    auto it = std::upper_bound(leaves.begin(), leaves.end(), from_us,
                               [](int64_t t, const Leaf& l) { return t < l.from_us; });
    if (it == leaves.begin())
        return nullptr;
    const Leaf& leaf = *std::prev(it);
    return from_us < leaf.until_us && until_us <= leaf.until_us ? &leaf : nullptr;
}

}  // namespace culex
