// Log lines from any thread, written out by the broker thread.
//
// mosquitto_log_printf is not safe from other threads (with `log_dest topic` it
// publishes), so worker threads push lines here and the plugin drains them on the
// broker thread. The queue is bounded: when a worker logs faster than the broker
// drains, the newest lines are dropped and counted, and the count is reported with
// the next drain. All methods are thread-safe.
#pragma once

#include <atomic>
#include <cstdarg>
#include <cstddef>
#include <cstdio>
#include <deque>
#include <mutex>
#include <string>
#include <utility>

namespace culex {

enum class LogLevel { kDebug, kInfo, kNotice, kWarning, kError };

class LogQueue {
  public:
    explicit LogQueue(size_t max_lines = 1000) : max_lines_(max_lines) {}
    LogQueue(const LogQueue&) = delete;
    LogQueue& operator=(const LogQueue&) = delete;

    void write(LogLevel level, std::string line) {
        std::lock_guard<std::mutex> lock(mu_);
        if (lines_.size() >= max_lines_) {
            ++dropped_;
            return;
        }
        lines_.emplace_back(level, std::move(line));
        pending_.store(true, std::memory_order_release);
    }

    __attribute__((format(printf, 3, 4))) void printf(LogLevel level, const char* fmt, ...) {
        char buf[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        write(level, buf);
    }

    // Calls sink(level, line) for each queued line, oldest first. Cheap when empty, so
    // the broker thread may call it on every tick.
    template <typename Sink>
    void drain(Sink&& sink) {
        if (!pending_.load(std::memory_order_acquire))
            return;
        std::deque<std::pair<LogLevel, std::string>> lines;
        size_t dropped = 0;
        {
            std::lock_guard<std::mutex> lock(mu_);
            lines.swap(lines_);
            std::swap(dropped, dropped_);
            pending_.store(false, std::memory_order_release);
        }
        for (auto& [level, line] : lines)
            sink(level, line);
        if (dropped > 0) {
            sink(LogLevel::kWarning,
                 "culex: " + std::to_string(dropped) + " log lines dropped (log queue full)");
        }
    }

  private:
    const size_t max_lines_;
    std::mutex mu_;
    std::deque<std::pair<LogLevel, std::string>> lines_;
    size_t dropped_ = 0;
    std::atomic<bool> pending_{false};
};

}  // namespace culex
