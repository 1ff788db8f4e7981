// libFuzzer target: topic filter validation and matching never crash, and a valid
// filter without wildcards matches itself as a topic.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "storage/topic_filter.h"

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
    return 0;
}
