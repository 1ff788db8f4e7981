// MQTT topic filters (`+` and `#` wildcards) as MQTT 3.1.1 §4.7 defines them.
// Pure functions, safe from any thread.
#pragma once

#include <string_view>

#include "status.h"

namespace culex {

// Ok when `filter` is a valid subscription filter: 1..65535 bytes of UTF-8 without
// NUL, `+` only as a whole level, `#` only as the whole last level. The error names
// what is wrong, for the admin or API user who wrote it.
Status validate_topic_filter(std::string_view filter);

// Ok when `topic` is a valid topic name to publish to: like a filter, but without
// wildcards.
Status validate_topic_name(std::string_view topic);

// True when every topic that the (valid) filter `inner` matches, `outer` matches too.
// Errs on the safe side: a few exotic pairs that do cover (`+/#` over `#`) say false.
bool filter_covers(std::string_view outer, std::string_view inner);

// True when the (valid) filter matches the topic name. Filters starting with a
// wildcard do not match topics starting with `$`, as in MQTT.
bool topic_matches(std::string_view filter, std::string_view topic);

}  // namespace culex
