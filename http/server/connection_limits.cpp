#include "connection_limits.h"

namespace culex {

ConnectionLimits::Admission ConnectionLimits::admit(uint32_t address) {
    if (total_ >= max_total_)
        return Admission::kServerFull;
    int& held = per_client_[address];
    if (held >= max_per_client_)
        return Admission::kClientFull;
    ++held;
    ++total_;
    return Admission::kAdmitted;
}

void ConnectionLimits::release(uint32_t address) {
    auto it = per_client_.find(address);
    if (it == per_client_.end())
        return;
    --total_;
    if (--it->second == 0)
        per_client_.erase(it);
}

}  // namespace culex
