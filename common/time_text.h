// Times as the API writes and reads them: RFC 3339 in UTC with microseconds, and epoch
// milliseconds. Pure functions, any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace culex {

// "2026-11-26T04:43:28.123456Z".
std::string format_rfc3339_us(int64_t epoch_us);

// Microseconds since the epoch from RFC 3339 (`2026-11-26T04:43:28Z`, with up to six
// fraction digits and `Z` or a `±HH:MM` offset; `t` and `z` accepted) or from an integer
// count of epoch milliseconds. nullopt for anything else or outside years 1970..9999.
std::optional<int64_t> parse_time_us(std::string_view text);

// A duration as the options write it: the largest of d, h, m that divides it, else
// seconds (86400 -> "1d", 5400 -> "90m", 90 -> "90s").
std::string format_duration(int64_t seconds);

}  // namespace culex
