#include "partition_map.h"

namespace culex {

std::shared_ptr<const std::vector<Leaf>> PartitionMap::leaves(PgConnection& db) {
    std::unique_lock<std::mutex> lock(mu_);
    const auto now = SteadyClock::now();
    if (loaded_once_ && now - loaded_ < kMaxAge)
        return leaves_;
    auto fresh = std::make_shared<std::vector<Leaf>>();
    if (!read_leaves(db, *fresh).ok())
        return leaves_;
    leaves_ = std::move(fresh);
    loaded_ = now;
    loaded_once_ = true;
    return leaves_;
}

void PartitionMap::invalidate() {
    std::lock_guard<std::mutex> lock(mu_);
    loaded_once_ = false;
}

}  // namespace culex
