// Opaque pagination cursors: clients pass back what a page returned in next_cursor.
// They are base64url text, so they survive URLs unescaped; decoding accepts only what
// encoding produces. Pure functions, any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "storage/message_query.h"

namespace culex {

std::string encode_series_cursor(const SeriesCursor& cursor);
std::optional<SeriesCursor> decode_series_cursor(std::string_view text);

// Cursors over topic names (the topics listing).
std::string encode_name_cursor(std::string_view name);
std::optional<std::string> decode_name_cursor(std::string_view text);

}  // namespace culex
