// The query parameters that select stored messages, shared by every endpoint that reads
// or deletes a set of them, and the condition language of `where`:
//
//   where=temp>30   where=status!=ok   where=meta.room="kitchen"   where=exists(alarm)
//
// A path is `$` (the payload itself) or dot-separated keys or array indexes, optionally
// after `$.`; a value is a JSON scalar, or else bare text taken as a string.
// Pure functions; errors are one line for a 400 problem detail.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "culex/status.h"
#include "query_params.h"
#include "storage/message_query.h"

namespace culex {

Result<std::vector<std::string>> parse_json_path(std::string_view text);
Result<JsonCondition> parse_json_condition(std::string_view text);

// Reads topic, filter, after, before, contains, like, where (repeatable), qos, retain
// and client_id into `selection`; problems are recorded in `params`.
void read_selection(ParamReader& params, MessageSelection& selection);

}  // namespace culex
