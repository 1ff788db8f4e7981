#include "topic_filter.h"

#include <cstddef>
#include <cstdint>

namespace culex {

bool is_valid_utf8(std::string_view text) {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const auto* end = p + text.size();
    while (p < end) {
        unsigned char c = *p;
        if (c < 0x80) {
            ++p;
            continue;
        }
        int extra;
        uint32_t cp;
        if ((c & 0xE0) == 0xC0) {
            extra = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            extra = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            extra = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (end - p <= extra)
            return false;
        for (int i = 1; i <= extra; ++i) {
            if ((p[i] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        static constexpr uint32_t kMinForLength[] = {0, 0x80, 0x800, 0x10000};
        if (cp < kMinForLength[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return false;
        }
        p += extra + 1;
    }
    return true;
}

Status validate_topic_filter(std::string_view filter) {
    if (filter.empty())
        return Status::error("topic filter is empty");
    if (filter.size() > 65535)
        return Status::error("topic filter is longer than 65535 bytes");
    if (filter.find('\0') != std::string_view::npos) {
        return Status::error("topic filter contains a NUL byte");
    }
    if (!is_valid_utf8(filter))
        return Status::error("topic filter is not valid UTF-8");
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
