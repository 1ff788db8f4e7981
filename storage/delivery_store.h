// The durable delivery outbox, culex.deliveries: webhooks, republishes, e-mail and SMS
// waiting to be sent, being sent, sent, or given up on.
//
// Any number of brokers share it: claim_due takes due rows with SKIP LOCKED and leases
// them; a lease that runs out (its broker died mid-send) makes the row due again, so a
// delivery is sent at least once. Functions run on the caller's connection and fill
// outputs only on success.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pg_connection.h"

namespace culex {

// What a delivery sends, and where it is in its life; stored by these names.
enum class DeliveryKind { kWebhook, kRepublish, kEmail, kSms };
enum class DeliveryState { kPending, kSending, kDelivered, kDead };
const char* delivery_kind_name(DeliveryKind kind);     // "webhook", "republish", "email", "sms"
const char* delivery_state_name(DeliveryState state);  // "pending", "sending", "delivered", "dead"
std::optional<DeliveryKind> parse_delivery_kind(std::string_view name);
std::optional<DeliveryState> parse_delivery_state(std::string_view name);

struct NewDelivery {
    DeliveryKind kind = DeliveryKind::kWebhook;
    std::optional<int64_t> rule_id;
    std::optional<std::string> rule_name;
    std::optional<int64_t> message_id;
    std::string target;        // what per-target concurrency counts: host:port, smtp, sms, broker
    std::string request_json;  // everything the send needs
    int max_attempts = 10;
};

struct DeliveryRow {
    int64_t id = 0;
    DeliveryKind kind = DeliveryKind::kWebhook;
    std::optional<int64_t> rule_id;
    std::optional<std::string> rule_name;
    std::optional<int64_t> message_id;
    std::string target;
    std::string request_json;
    DeliveryState state = DeliveryState::kPending;
    int attempts = 0;
    int max_attempts = 0;
    int64_t next_attempt_us = 0;
    std::optional<int> last_status;
    std::optional<std::string> last_error;
    int64_t created_us = 0;
    int64_t updated_us = 0;
    std::optional<int64_t> delivered_us;
};

struct DeliveryFilter {
    std::optional<DeliveryState> state;
    std::optional<DeliveryKind> kind;
    std::optional<int64_t> rule_id;
    std::optional<int64_t> before_id;  // keyset cursor: ids below this one
    size_t limit = 100;
};

// Inserts all of `deliveries` (one statement); their ids in order.
PgOutcome enqueue_deliveries(PgConnection& db, const std::vector<NewDelivery>& deliveries,
                             std::vector<int64_t>& ids);

// Leases up to `limit` due deliveries for `lease_ms`, counting the attempt, skipping
// targets in `busy_targets`. Oldest due first.
PgOutcome claim_due(PgConnection& db, size_t limit, int64_t lease_ms,
                    const std::vector<std::string>& busy_targets,
                    std::vector<DeliveryRow>& claimed);

// What one attempt came to.
struct DeliveryOutcome {
    int64_t id = 0;
    bool delivered = false;
    std::optional<int64_t> retry_in_ms;  // failed: due again after this; empty: dead
    std::optional<int> status;
    std::string error;
};
// Records attempts' outcomes, all in one statement.
PgOutcome record_outcomes(PgConnection& db, const std::vector<DeliveryOutcome>& outcomes);
// Gives back claimed deliveries that were not attempted (shutdown): due now, attempt
// not counted.
PgOutcome release_claims(PgConnection& db, const std::vector<int64_t>& ids);

PgOutcome get_delivery(PgConnection& db, int64_t id, std::optional<DeliveryRow>& row);
PgOutcome list_deliveries(PgConnection& db, const DeliveryFilter& filter,
                          std::vector<DeliveryRow>& rows);
// The newest `per_rule` deliveries of each rule in `rule_ids`.
PgOutcome recent_deliveries(PgConnection& db, const std::vector<int64_t>& rule_ids, int per_rule,
                            std::vector<DeliveryRow>& rows);
// A dead delivery made due again with a fresh attempt count; `row` is the delivery as the
// reset left it (before any dispatcher can claim it), empty when `id` is not a dead delivery.
PgOutcome retry_delivery(PgConnection& db, int64_t id, std::optional<DeliveryRow>& row);
// Deliveries per state (every state present).
PgOutcome count_deliveries(PgConnection& db,
                           std::vector<std::pair<DeliveryState, int64_t>>& counts);
// Removes delivered and dead deliveries last touched more than `age_s` seconds ago.
PgOutcome remove_finished_deliveries(PgConnection& db, int64_t age_s, int64_t& removed);

}  // namespace culex
