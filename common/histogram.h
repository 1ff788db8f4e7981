// A histogram with fixed upper bounds, as Prometheus exposes them: observe() from any
// thread without a lock, snapshot() from any thread (counts taken one by one, so a
// snapshot during observations may be off by those in flight, never torn).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace culex {

class Histogram {
  public:
    // `bounds` ascending; an implicit +Inf bucket follows the last.
    explicit Histogram(std::vector<double> bounds)
        : bounds_(std::move(bounds)),
          counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {}

    void observe(double value) {
        size_t i = 0;
        while (i < bounds_.size() && value > bounds_[i])
            ++i;
        counts_[i].fetch_add(1, std::memory_order_relaxed);
        sum_.fetch_add(value, std::memory_order_relaxed);
    }

    struct Snapshot {
        std::vector<double> bounds;
        std::vector<uint64_t> cumulative;  // per bound, then +Inf (= count)
        double sum = 0;
    };
    Snapshot snapshot() const {
        Snapshot s;
        s.bounds = bounds_;
        uint64_t running = 0;
        for (size_t i = 0; i <= bounds_.size(); ++i) {
            running += counts_[i].load(std::memory_order_relaxed);
            s.cumulative.push_back(running);
        }
        s.sum = sum_.load(std::memory_order_relaxed);
        return s;
    }

  private:
    const std::vector<double> bounds_;
    std::unique_ptr<std::atomic<uint64_t>[]> counts_;
    std::atomic<double> sum_{0};
};

}  // namespace culex
