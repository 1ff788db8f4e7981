// How many connections the front end (frontend.h) holds, in all and per client address,
// and whether one more may be served. Event-loop thread only.
#pragma once

#include <cstdint>
#include <unordered_map>

namespace culex {

class ConnectionLimits {
  public:
    ConnectionLimits(int max_total, int max_per_client)
        : max_total_(max_total), max_per_client_(max_per_client) {}

    enum class Admission { kAdmitted, kClientFull, kServerFull };
    // Counts the connection when it is admitted; then release() must follow once.
    Admission admit(uint32_t address);
    void release(uint32_t address);

    int max_total() const { return max_total_; }
    int max_per_client() const { return max_per_client_; }

  private:
    const int max_total_;
    const int max_per_client_;
    int total_ = 0;
    std::unordered_map<uint32_t, int> per_client_;
};

}  // namespace culex
