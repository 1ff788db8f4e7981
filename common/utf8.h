// UTF-8 well-formedness, for every text that goes into JSON, topics or headers.
// Pure function, safe from any thread.
#pragma once

#include <string_view>

namespace culex {

// True when `text` is well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF).
bool is_valid_utf8(std::string_view text);

}  // namespace culex
