// libFuzzer target: topic filter validation and matching never crash, a valid filter
// without wildcards matches itself as a topic, and when an input "outer\ninner" has
// filter_covers(outer, inner), outer matches a topic that inner matches.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/topic_filter.h"
#include "common/utf8.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    bool valid = culex::validate_topic_filter(input).is_ok();
    culex::is_valid_utf8(input);
    if (valid) {
        culex::topic_matches(input, "a/b/c");
        culex::topic_matches("sensors/+/#", input);
        bool wildcard = input.find_first_of("+#") != std::string_view::npos;
        if (!wildcard && !culex::topic_matches(input, input))
            std::abort();
        if (input[0] != '$' && !culex::topic_matches("#", input))
            std::abort();
    }
    const size_t newline = input.find('\n');
    if (newline != std::string_view::npos) {
        std::string_view outer = input.substr(0, newline);
        std::string_view inner = input.substr(newline + 1);
        if (culex::validate_topic_filter(outer).is_ok() &&
            culex::validate_topic_filter(inner).is_ok() && culex::filter_covers(outer, inner)) {
            // A topic inner matches: each '+' as a level "x", a final '#' as "x/y".
            std::string topic;
            for (char c : inner)
                topic += c == '+'   ? std::string("x")
                         : c == '#' ? std::string("x/y")
                                    : std::string(1, c);
            if (culex::topic_matches(inner, topic) && !culex::topic_matches(outer, topic))
                std::abort();
        }
    }
    return 0;
}
