// libFuzzer target: the jsonb-compatibility check never crashes or recurses deeply.
#include <cstdint>
#include <string_view>

#include "common/json_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    culex::is_storable_json(std::string_view(reinterpret_cast<const char*>(data), size));
    return 0;
}
