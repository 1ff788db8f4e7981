// Base64 (RFC 4648 §4) for payloads in JSON, and its URL-safe alphabet without padding
// (§5) for cursors and tokens. Decoding is strict: one canonical spelling per byte
// string, or nothing. Pure functions, any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace culex {

std::string base64_encode(std::string_view bytes);
std::string base64url_encode(std::string_view bytes);

// nullopt for anything but canonical base64 (padding required, no whitespace).
std::optional<std::string> base64_decode(std::string_view text);
// nullopt for anything but canonical unpadded base64url.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace culex
