// libFuzzer target: the decoders of outside text (base64, cursors, times, %-escapes)
// never crash, and whatever they accept encodes back to the same text.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/base64.h"
#include "common/time_text.h"
#include "http/codecs/cursor.h"
#include "http/codecs/query_params.h"

using namespace culex;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    if (std::optional<std::string> bytes = base64_decode(input)) {
        if (base64_encode(*bytes) != input)
            std::abort();
    }
    if (std::optional<std::string> bytes = base64url_decode(input)) {
        if (base64url_encode(*bytes) != input)
            std::abort();
    }
    if (std::optional<SeriesCursor> cursor = decode_series_cursor(input)) {
        if (encode_series_cursor(*cursor) != input)
            std::abort();
    }
    if (std::optional<std::string> name = decode_name_cursor(input)) {
        if (encode_name_cursor(*name) != input)
            std::abort();
    }
    if (std::optional<int64_t> us = parse_time_us(input)) {
        if (parse_time_us(format_rfc3339_us(*us)) != us)
            std::abort();
    }
    percent_decode(input, true);
    return 0;
}
