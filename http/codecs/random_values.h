// Random values for the utility endpoints, from OpenSSL's CSPRNG. Safe from any thread.
// A failing system random generator throws std::runtime_error; the API turns any
// exception into a 500 without crossing the plugin boundary.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace culex {

inline constexpr std::string_view kAlphanumeric =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

uint64_t random_u64();
// Uniform in [0, bound), bound > 0, without modulo bias.
uint64_t random_below(uint64_t bound);
// `length` characters drawn uniformly from `alphabet`.
std::string random_text(std::string_view alphabet, size_t length);
// A UUID in lower-case text: version 4 (random) or 1 (time-based).
std::string new_uuid(int version);

}  // namespace culex
