// Deliveries as the API shows them (never their stored request, which may hold a
// webhook secret). Used by the rules and deliveries routes on worker threads.
#pragma once

#include "common/message_json.h"
#include "storage/delivery_store.h"

namespace culex {

// {id, kind, state, attempts, max_attempts, next_attempt_at, last_status, last_error,
//  rule: {id, name} | null, message_id, target, created_at, updated_at, delivered_at}
void write_delivery(JsonWriter& w, const DeliveryRow& d);

}  // namespace culex
