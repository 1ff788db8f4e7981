// Client-id patterns (exclude_clients): `*` matches any run of characters, none
// included; every other byte matches only itself; a pattern matches the whole id.
//
// A pattern is compiled once, when the options are parsed, into the literal pieces
// between its stars; matching then only compares bytes: it allocates nothing and takes
// at most O(id length x pattern length), so the broker thread can run it on every
// PUBLISH. Compiled patterns are immutable and safe to share between threads.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "status.h"

namespace culex {

class ClientPattern {
  public:
    // A pattern of 1 to kMaxLength printable bytes (no control characters); an error
    // says what is wrong with it.
    static Result<ClientPattern> parse(std::string_view text);

    bool matches(std::string_view client_id) const;
    const std::string& text() const { return text_; }

    static constexpr size_t kMaxLength = 1024;

  private:
    ClientPattern() = default;

    std::string text_;
    // The literal runs between stars, in order; with stars the first and last may be
    // empty (a pattern that starts or ends with `*`). Without stars: one piece, the id.
    std::vector<std::string> pieces_;
};

// Matches when any of its patterns does; empty matches nothing.
class ClientPatterns {
  public:
    void add(ClientPattern pattern) { patterns_.push_back(std::move(pattern)); }
    bool matches(std::string_view client_id) const {
        for (const ClientPattern& p : patterns_) {
            if (p.matches(client_id))
                return true;
        }
        return false;
    }
    bool empty() const { return patterns_.empty(); }
    const std::vector<ClientPattern>& patterns() const { return patterns_; }

  private:
    std::vector<ClientPattern> patterns_;
};

}  // namespace culex
