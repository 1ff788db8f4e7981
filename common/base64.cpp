#include "base64.h"

#include <array>
#include <cstdint>

namespace culex {
namespace {

constexpr char kStandard[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUrlSafe[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string encode(std::string_view bytes, const char* alphabet, bool pad) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16 |
                           static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8 |
                           static_cast<unsigned char>(bytes[i + 2]);
        out += alphabet[v >> 18];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        out += alphabet[v & 63];
    }
    const size_t rest = bytes.size() - i;
    if (rest > 0) {
        uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
        if (rest == 2)
            v |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
        out += alphabet[v >> 18];
        out += alphabet[(v >> 12) & 63];
        if (rest == 2)
            out += alphabet[(v >> 6) & 63];
        if (pad)
            out.append(rest == 1 ? "==" : "=");
    }
    return out;
}

std::array<int8_t, 256> reverse(const char* alphabet) {
    std::array<int8_t, 256> table{};
    table.fill(-1);
    for (int i = 0; i < 64; ++i)
        table[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
    return table;
}

std::optional<std::string> decode(std::string_view text, const std::array<int8_t, 256>& table,
                                  bool padded) {
    if (padded) {
        if (text.size() % 4 != 0)
            return std::nullopt;
        if (!text.empty() && text.back() == '=') {
            text.remove_suffix(1);
            if (!text.empty() && text.back() == '=')
                text.remove_suffix(1);
        }
    }
    if (text.size() % 4 == 1)
        return std::nullopt;
    std::string out;
    out.reserve(text.size() / 4 * 3 + 2);
    uint32_t acc = 0;
    int bits = 0;
    for (char c : text) {
        const int8_t v = table[static_cast<unsigned char>(c)];
        if (v < 0)
            return std::nullopt;
        acc = ((acc << 6) | static_cast<uint32_t>(v)) & 0xffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    // Canonical: the unused low bits of the last character are zero.
    if ((acc & ((1u << bits) - 1)) != 0)
        return std::nullopt;
    return out;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
    return encode(bytes, kStandard, true);
}

std::string base64url_encode(std::string_view bytes) {
    return encode(bytes, kUrlSafe, false);
}

std::optional<std::string> base64_decode(std::string_view text) {
    static const std::array<int8_t, 256> table = reverse(kStandard);
    return decode(text, table, true);
}

std::optional<std::string> base64url_decode(std::string_view text) {
    static const std::array<int8_t, 256> table = reverse(kUrlSafe);
    return decode(text, table, false);
}

}  // namespace culex
