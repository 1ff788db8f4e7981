// Query-string parameters, read strictly: every value is percent-decoded UTF-8 without
// NUL, a parameter the handler does not read is an error, and so is one given twice
// unless the handler reads it as a list. Errors are one line for a 400 problem detail.
//
// Usage: parse, read each parameter the endpoint knows, then finish(). Readers record
// the first error and return nothing, so handlers read everything and check once.
// One instance per request; not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace culex {

// Decodes %XX escapes (and '+' as space when `plus_is_space`); nullopt on a malformed
// escape.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

class ParamReader {
  public:
    // An error Status means the query string itself is malformed.
    static Result<ParamReader> parse(std::string_view query);

    std::optional<std::string> text(std::string_view name);
    std::vector<std::string> list(std::string_view name);
    std::optional<int64_t> integer(std::string_view name, int64_t min, int64_t max);
    std::optional<bool> boolean(std::string_view name);
    // RFC 3339 or epoch milliseconds (time_text.h).
    std::optional<int64_t> time_us(std::string_view name);

    // Records an error found by the caller while interpreting a value.
    void fail(std::string message);
    bool failed() const { return !error_.empty(); }
    // The first error, else an error naming the first parameter nobody read, else ok.
    Status finish() const;

  private:
    std::vector<std::pair<std::string, std::string>> params_;
    std::vector<bool> read_;
    std::string error_;
};

}  // namespace culex
