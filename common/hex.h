// Lowercase hexadecimal text of bytes (bytea literals, HMAC signatures). Pure function,
// safe from any thread.
#pragma once

#include <string>
#include <string_view>

namespace culex {

inline std::string hex_encode(std::string_view bytes) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        out += kHex[c >> 4];
        out += kHex[c & 15];
    }
    return out;
}

}  // namespace culex
