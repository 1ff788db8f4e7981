#include "http_metrics.h"

#include "prometheus_text.h"

namespace culex {

void HttpMetrics::record(const std::string& method, const std::string& route, int status,
                         double seconds) {
    std::lock_guard<std::mutex> lock(mu_);
    std::unique_ptr<RouteStats>& stats = routes_[{method, route}];
    if (!stats)
        stats = std::make_unique<RouteStats>();
    ++stats->by_status[status];
    stats->latency.observe(seconds);
}

void HttpMetrics::render(std::string& out) const {
    std::lock_guard<std::mutex> lock(mu_);
    prometheus_header(out, "culex_http_requests_total", "counter",
                      "HTTP API requests answered, by method, route and status.");
    for (const auto& [key, stats] : routes_) {
        for (const auto& [status, count] : stats->by_status) {
            prometheus_sample(
                out, "culex_http_requests_total",
                {{"method", key.first}, {"route", key.second}, {"status", std::to_string(status)}},
                static_cast<double>(count));
        }
    }
    prometheus_header(out, "culex_http_request_duration_seconds", "histogram",
                      "Time from a request's arrival to its answer, by method and route.");
    for (const auto& [key, stats] : routes_) {
        prometheus_histogram(out, "culex_http_request_duration_seconds",
                             {{"method", key.first}, {"route", key.second}},
                             stats->latency.snapshot());
    }
}

}  // namespace culex
