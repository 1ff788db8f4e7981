// Time sources. Wall-clock time is what gets stored; steady time measures intervals.
// Both are safe to call from any thread.
#pragma once

#include <chrono>
#include <cstdint>

namespace culex {

// Microseconds since the Unix epoch.
inline int64_t wall_clock_us() {
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

using SteadyClock = std::chrono::steady_clock;

}  // namespace culex
