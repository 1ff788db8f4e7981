// Conditions on JSON payloads, as the data API's `where` and rules write them:
//
//   temp>30   status!=ok   meta.room="kitchen"   exists(alarm)
//
// A path is `$` (the payload itself) or dot-separated keys or array indexes, optionally
// after `$.`; a value is a JSON scalar, or else bare text taken as a string. Parsed here
// once; storage/message_sql.h turns a condition into SQL and payload_condition.h
// evaluates it in memory, with the same meaning. Pure functions; errors are one line for
// a 400 problem detail or a rule's error.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "status.h"

namespace culex {

enum class JsonOp { kEq, kNe, kLt, kLe, kGt, kGe, kExists };

// A comparison of one field of a JSON payload: `path` names the field (object keys or
// array indexes; empty is the payload itself), `value_json` is a JSON scalar. Ordering
// operators take a number or a string; a field of another type never matches.
struct JsonCondition {
    std::vector<std::string> path;
    JsonOp op = JsonOp::kExists;
    std::string value_json;
};

Result<std::vector<std::string>> parse_json_path(std::string_view text);
Result<JsonCondition> parse_json_condition(std::string_view text);

}  // namespace culex
