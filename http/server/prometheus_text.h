// Writing the Prometheus text exposition format (version 0.0.4). Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/histogram.h"

namespace culex {

using Labels = std::vector<std::pair<std::string, std::string>>;

// "# HELP" and "# TYPE" lines of a metric family.
void prometheus_header(std::string& out, std::string_view name, std::string_view type,
                       std::string_view help);
void prometheus_sample(std::string& out, std::string_view name, const Labels& labels, double value);
// The _bucket, _sum and _count samples of a histogram.
void prometheus_histogram(std::string& out, std::string_view name, const Labels& labels,
                          const Histogram::Snapshot& h);

}  // namespace culex
