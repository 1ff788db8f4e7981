// The payload tests of a rule, evaluated in memory: the same conditions the data API
// turns into SQL (`where` JSON-field comparisons, `contains`, `like`), with the same
// meaning, so a rule fires for exactly the messages a query with them would return.
//
// Numbers compare numerically (exactly for integers, as doubles otherwise), strings
// bytewise; an ordering comparison with a field of another type is false, and so is
// any comparison with a missing field. A payload that is not valid JSON meets no JSON
// condition. Immutable once built; safe to share between threads.
#pragma once

#include <rapidjson/document.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "json_condition.h"
#include "status.h"

namespace culex {

// SQL LIKE over bytes: `%` any run, `_` one byte, `\` escapes the next byte.
bool like_matches(std::string_view pattern, std::string_view text);
// Checks a SQL LIKE pattern: it must not end with an unpaired escape.
Status validate_like_pattern(std::string_view pattern);

// A payload parsed as JSON at most once, however many conditions test it. One message,
// one thread.
class ParsedPayload {
  public:
    explicit ParsedPayload(std::string_view payload) : payload_(payload) {}
    std::string_view bytes() const { return payload_; }
    // The document, or nullptr when the payload is not valid JSON.
    const rapidjson::Document* json();

  private:
    std::string_view payload_;
    bool parsed_ = false;
    rapidjson::Document doc_;
};

class PayloadCondition {
  public:
    PayloadCondition() = default;
    PayloadCondition(std::vector<JsonCondition> json, std::optional<std::string> contains,
                     std::optional<std::string> like);

    bool empty() const { return json_.empty() && !contains_ && !like_; }
    bool matches(std::string_view payload) const;
    bool matches(ParsedPayload& payload) const;

    const std::vector<JsonCondition>& json() const { return json_; }
    const std::optional<std::string>& contains() const { return contains_; }
    const std::optional<std::string>& like() const { return like_; }

  private:
    std::vector<JsonCondition> json_;
    // value_json of each condition, parsed once.
    std::vector<std::shared_ptr<rapidjson::Document>> values_;
    std::optional<std::string> contains_;
    std::optional<std::string> like_;
};

}  // namespace culex
