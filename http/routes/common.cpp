#include "routes.h"

#include <charconv>

#include "http/server/problem.h"

namespace culex {

std::optional<int64_t> parse_record_id(const std::string& segment) {
    int64_t id = 0;
    auto [end, ec] = std::from_chars(segment.data(), segment.data() + segment.size(), id);
    if (ec != std::errc() || end != segment.data() + segment.size() || id <= 0)
        return std::nullopt;
    return id;
}

HttpResult<> check_topic_access(const Principal& principal, const MessageSelection& selection) {
    if (selection.topic) {
        if (!principal.may_touch_topic(*selection.topic))
            return problem(403,
                           "this token's topic filters do not include '" + *selection.topic + "'");
        return Done{};
    }
    const std::string filter = selection.filter ? *selection.filter : "#";
    if (!principal.may_touch_filter(filter)) {
        return problem(403, "this token's topic filters do not cover all of '" + filter +
                                "'; ask for a narrower topic or filter");
    }
    return Done{};
}

}  // namespace culex
