// Exponential backoff with jitter for reconnect attempts. Not thread-safe; one per
// retrying thread.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

namespace culex {

class Backoff {
  public:
    Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
        : initial_(initial), max_(std::max(initial, max)), next_(initial) {}

    // The delay before the next attempt: doubles each call up to max, minus up to 20%
    // jitter so that several brokers do not reconnect in lockstep.
    std::chrono::milliseconds next() {
        auto base = next_;
        next_ = std::min(max_, next_ * 2);
        std::uniform_int_distribution<int64_t> jitter(0, base.count() / 5);
        return base - std::chrono::milliseconds(jitter(rng_));
    }

    void reset() { next_ = initial_; }

  private:
    const std::chrono::milliseconds initial_;
    const std::chrono::milliseconds max_;
    std::chrono::milliseconds next_;
    std::minstd_rand rng_{std::random_device{}()};
};

}  // namespace culex
