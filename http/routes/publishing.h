// Publishing from HTTP handlers: the checks a topic must pass and the hand-over to the
// broker thread through the outbox. Called on civetweb worker threads.
#pragma once

#include <string>

#include "api_context.h"
#include "http/server/auth.h"
#include "replies.h"

namespace culex {

// Done when `principal` may publish to `topic`; else the 400 (not a valid topic name,
// or a `$` topic) or 403 (outside its topic filters).
HttpResult<> check_publish_topic(const Principal& principal, const std::string& topic);

// Hands `m` to the broker thread and waits (up to 5 s) until it is published; else the
// 503 (no broker here, outbox full, or not taken in time).
HttpResult<> publish_and_wait(ApiContext& ctx, OutgoingMessage m);

}  // namespace culex
