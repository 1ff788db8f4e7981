// Counts of API requests by route and status, with a latency histogram per route, for
// /metrics. Routes are the router's patterns (a bounded set) or "unmatched". Thread-safe:
// every worker records each request it answers.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "common/histogram.h"

namespace culex {

class HttpMetrics {
  public:
    void record(const std::string& method, const std::string& route, int status, double seconds);
    // Appends the Prometheus text of culex_http_requests_total and
    // culex_http_request_duration_seconds.
    void render(std::string& out) const;

  private:
    struct RouteStats {
        std::map<int, uint64_t> by_status;
        Histogram latency{
            {0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}};
    };
    mutable std::mutex mu_;
    std::map<std::pair<std::string, std::string>, std::unique_ptr<RouteStats>> routes_;
};

}  // namespace culex
