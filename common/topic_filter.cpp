#include "topic_filter.h"

#include <cstddef>

#include "utf8.h"

namespace culex {
namespace {

// What MQTT asks of every topic name and filter (MQTT 3.1.1 §4.7.3).
Status check_topic_text(std::string_view text, const std::string& what) {
    if (text.empty())
        return Status::error(what + " is empty");
    if (text.size() > 65535)
        return Status::error(what + " is longer than 65535 bytes");
    if (text.find('\0') != std::string_view::npos)
        return Status::error(what + " contains a NUL byte");
    if (!is_valid_utf8(text))
        return Status::error(what + " is not valid UTF-8");
    return Status::ok();
}

}  // namespace

Status validate_topic_filter(std::string_view filter) {
    Status text = check_topic_text(filter, "topic filter");
    if (!text.is_ok())
        return text;
    size_t level_start = 0;
    for (size_t i = 0; i <= filter.size(); ++i) {
        if (i < filter.size() && filter[i] != '/')
            continue;
        std::string_view level = filter.substr(level_start, i - level_start);
        bool is_last = i == filter.size();
        if (level.find('#') != std::string_view::npos && (level != "#" || !is_last)) {
            return Status::error("'#' must be the whole last level of a topic filter");
        }
        if (level.find('+') != std::string_view::npos && level != "+") {
            return Status::error("'+' must be a whole level of a topic filter");
        }
        level_start = i + 1;
    }
    return Status::ok();
}

Status validate_topic_name(std::string_view topic) {
    if (topic.find_first_of("+#") != std::string_view::npos)
        return Status::error("a topic name cannot contain the wildcards '+' or '#'");
    return check_topic_text(topic, "topic name");
}

bool filter_covers(std::string_view outer, std::string_view inner) {
    if (!inner.empty() && inner[0] == '$' && !outer.empty() && (outer[0] == '+' || outer[0] == '#'))
        return false;
    size_t o = 0;
    size_t n = 0;
    while (true) {
        const bool outer_done = o > outer.size();
        const bool inner_done = n > inner.size();
        size_t o_end = outer_done ? o : outer.find('/', o);
        if (o_end == std::string_view::npos)
            o_end = outer.size();
        size_t n_end = inner_done ? n : inner.find('/', n);
        if (n_end == std::string_view::npos)
            n_end = inner.size();
        std::string_view o_level = outer_done ? "" : outer.substr(o, o_end - o);
        std::string_view n_level = inner_done ? "" : inner.substr(n, n_end - n);
        if (!outer_done && o_level == "#")
            return true;
        if (outer_done || inner_done)
            return outer_done && inner_done;
        if (n_level == "#")
            return false;
        if (o_level != "+" && (n_level == "+" || o_level != n_level))
            return false;
        o = o_end + 1;
        n = n_end + 1;
    }
}

bool topic_matches(std::string_view filter, std::string_view topic) {
    if (!topic.empty() && topic[0] == '$' && !filter.empty() &&
        (filter[0] == '+' || filter[0] == '#')) {
        return false;
    }
    size_t f = 0;
    size_t t = 0;
    while (true) {
        size_t f_end = filter.find('/', f);
        if (f_end == std::string_view::npos)
            f_end = filter.size();
        std::string_view f_level = filter.substr(f, f_end - f);
        if (f_level == "#")
            return true;  // matches this level and all below, or the parent
        size_t t_end = topic.find('/', t);
        if (t_end == std::string_view::npos)
            t_end = topic.size();
        std::string_view t_level = topic.substr(t, t_end - t);
        if (f_level != "+" && f_level != t_level)
            return false;
        bool filter_done = f_end == filter.size();
        bool topic_done = t_end == topic.size();
        if (filter_done || topic_done) {
            if (filter_done && topic_done)
                return true;
            // "a/#" also matches "a": the filter's only remaining level is '#'.
            return topic_done && filter.substr(f_end + 1) == "#";
        }
        f = f_end + 1;
        t = t_end + 1;
    }
}

}  // namespace culex
