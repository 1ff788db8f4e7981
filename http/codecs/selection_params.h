// The query parameters that select stored messages, shared by every endpoint that reads
// or deletes a set of them. `where` takes the conditions of common/json_condition.h.
// Pure functions; errors are one line for a 400 problem detail.
#pragma once

#include "query_params.h"
#include "storage/message_query.h"

namespace culex {

// Reads topic, filter, after, before, contains, like, where (repeatable), qos, retain
// and client_id into `selection`; problems are recorded in `params`.
void read_selection(ParamReader& params, MessageSelection& selection);

}  // namespace culex
