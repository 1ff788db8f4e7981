#include "platform.h"

#include <cinttypes>

#include "signal_block.h"

namespace culex {

Platform::Platform(Config config)
    : config_(std::move(config)),
      queue_(config_.queue_capacity, config_.queue_max_bytes),
      selector_(config_.store_topics, config_.exclude_topics),
      intake_(selector_, queue_, stats_, log_),
      writer_(config_, queue_, log_, stats_) {}

void Platform::start() {
    SignalBlock block;
    writer_.start();
}

void Platform::stop() {
    uint64_t unwritten = writer_.stop(std::chrono::milliseconds(config_.shutdown_timeout_ms));
    if (unwritten > 0) {
        log_.printf(LogLevel::kError,
                    "culex: %" PRIu64
                    " messages could not be written to PostgreSQL within shutdown_timeout_ms "
                    "(%" PRId64 " ms) and are lost.",
                    unwritten, config_.shutdown_timeout_ms);
    }
    log_.printf(LogLevel::kNotice,
                "culex: stopped. received %" PRIu64 ", stored %" PRIu64 ", not selected %" PRIu64
                ", dropped (queue full) %" PRIu64 ", refused by PostgreSQL %" PRIu64
                ", unwritten at shutdown %" PRIu64 ".",
                stats_.received.load(), stats_.stored.load(), stats_.filtered.load(),
                stats_.dropped_queue_full.load(), stats_.refused_by_db.load(), unwritten);
}

}  // namespace culex
