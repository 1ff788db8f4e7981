#include "publisher.h"

#include <chrono>
#include <exception>

namespace culex::test {

Publisher::Publisher(int port, std::string prefix, std::string id, int per_second, int qos)
    : client_(port, id),
      topic_(prefix + "/" + id),
      id_(std::move(id)),
      thread_([this, per_second, qos] { run(per_second, qos); }) {}

Publisher::~Publisher() {
    stop();
}

void Publisher::stop() {
    stopping_ = true;
    if (thread_.joinable())
        thread_.join();
}

void Publisher::run(int per_second, int qos) {
    // Millisecond ticks carry the rate's share (with the remainder carried over), so
    // rates past what per-message sleeps can pace still come out right.
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    long due_total = 0;
    for (long tick = 1; !stopping_; ++tick) {
        due_total = tick * per_second / 1000;
        while (sent_ < due_total && !stopping_) {
            try {
                client_.publish(topic_, id_ + ":" + std::to_string(sent_.load()), qos);
            } catch (const std::exception&) {
                return;  // the broker is gone (a test killed it): the device stops
            }
            ++sent_;
        }
        std::this_thread::sleep_until(start + std::chrono::milliseconds(tick));  // pacing
    }
}

}  // namespace culex::test
