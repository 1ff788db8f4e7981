#include "cursor.h"

#include <charconv>

#include "common/base64.h"
#include "common/topic_filter.h"

namespace culex {
namespace {

// A version letter first, so the format can change without old cursors being misread.
constexpr char kSeriesTag = 's';
constexpr char kNameTag = 'n';

bool parse_int(std::string_view text, int64_t& out) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    // Canonical only: no leading zeros or '+', so each cursor has one spelling.
    return ec == std::errc() && end == text.data() + text.size() && !text.empty() &&
           (text.size() == 1 || text[0] != '0') && text.substr(0, 2) != "-0";
}

}  // namespace

std::string encode_series_cursor(const SeriesCursor& cursor) {
    return base64url_encode(std::string(1, kSeriesTag) + std::to_string(cursor.received_us) + "." +
                            std::to_string(cursor.id));
}

std::optional<SeriesCursor> decode_series_cursor(std::string_view text) {
    std::optional<std::string> raw = base64url_decode(text);
    if (!raw || raw->empty() || (*raw)[0] != kSeriesTag)
        return std::nullopt;
    std::string_view body(*raw);
    body.remove_prefix(1);
    const size_t dot = body.find('.');
    SeriesCursor cursor;
    if (dot == std::string_view::npos || !parse_int(body.substr(0, dot), cursor.received_us) ||
        !parse_int(body.substr(dot + 1), cursor.id) || cursor.id <= 0)
        return std::nullopt;
    return cursor;
}

std::string encode_name_cursor(std::string_view name) {
    return base64url_encode(std::string(1, kNameTag) + std::string(name));
}

std::optional<std::string> decode_name_cursor(std::string_view text) {
    std::optional<std::string> raw = base64url_decode(text);
    if (!raw || raw->size() < 2 || (*raw)[0] != kNameTag)
        return std::nullopt;
    std::string name = raw->substr(1);
    if (!validate_topic_name(name).is_ok())
        return std::nullopt;
    return name;
}

}  // namespace culex
