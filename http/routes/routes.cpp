#include "routes.h"

#include <charconv>

#include "http/server/problem.h"

namespace culex {

HttpResult<int64_t> id_in_path(const std::string& segment, const char* what) {
    int64_t id = 0;
    auto [end, ec] = std::from_chars(segment.data(), segment.data() + segment.size(), id);
    if (ec != std::errc() || end != segment.data() + segment.size() || id <= 0)
        return problem(400, std::string("a ") + what + " id is a positive integer");
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
