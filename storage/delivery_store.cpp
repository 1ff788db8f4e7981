#include "delivery_store.h"

#include <cstdlib>

#include "message_sql.h"
#include "pg_array.h"

namespace culex {
namespace {

constexpr const char* kKindNames[] = {"webhook", "republish", "email", "sms"};
constexpr const char* kStateNames[] = {"pending", "sending", "delivered", "dead"};

template <typename Enum, size_t N>
std::optional<Enum> enum_named(const char* const (&names)[N], std::string_view name) {
    for (size_t i = 0; i < N; ++i) {
        if (name == names[i])
            return static_cast<Enum>(i);
    }
    return std::nullopt;
}

constexpr const char* kColumns =
    "id, kind, rule_id, rule_name, message_id, target, request, state, attempts,"
    " max_attempts, (extract(epoch FROM next_attempt_at) * 1000000)::bigint, last_status,"
    " last_error, (extract(epoch FROM created_at) * 1000000)::bigint,"
    " (extract(epoch FROM updated_at) * 1000000)::bigint,"
    " (extract(epoch FROM delivered_at) * 1000000)::bigint";

std::optional<int64_t> int_at(const PGresult* r, int row, int col) {
    if (PQgetisnull(r, row, col))
        return std::nullopt;
    return std::strtoll(PQgetvalue(r, row, col), nullptr, 10);
}

DeliveryRow row_to_delivery(const PGresult* r, int row) {
    DeliveryRow d;
    d.id = *int_at(r, row, 0);
    // The table's CHECK constraints admit only the names the enums have.
    d.kind = parse_delivery_kind(pg_value(r, row, 1)).value_or(DeliveryKind::kWebhook);
    d.rule_id = int_at(r, row, 2);
    if (!PQgetisnull(r, row, 3))
        d.rule_name = pg_value(r, row, 3);
    d.message_id = int_at(r, row, 4);
    d.target = pg_value(r, row, 5);
    d.request_json = pg_value(r, row, 6);
    d.state = parse_delivery_state(pg_value(r, row, 7)).value_or(DeliveryState::kDead);
    d.attempts = static_cast<int>(*int_at(r, row, 8));
    d.max_attempts = static_cast<int>(*int_at(r, row, 9));
    d.next_attempt_us = *int_at(r, row, 10);
    if (auto s = int_at(r, row, 11))
        d.last_status = static_cast<int>(*s);
    if (!PQgetisnull(r, row, 12))
        d.last_error = pg_value(r, row, 12);
    d.created_us = *int_at(r, row, 13);
    d.updated_us = *int_at(r, row, 14);
    d.delivered_us = int_at(r, row, 15);
    return d;
}

PgOutcome rows(PgOutcome outcome, std::vector<DeliveryRow>& out) {
    if (!outcome.ok())
        return outcome;
    out.clear();
    for (int i = 0; i < PQntuples(outcome.result.get()); ++i)
        out.push_back(row_to_delivery(outcome.result.get(), i));
    return outcome;
}

std::string pg_bigint_array(const std::vector<int64_t>& ids) {
    std::string out = "{";
    for (size_t i = 0; i < ids.size(); ++i)
        out += (i == 0 ? "" : ",") + std::to_string(ids[i]);
    return out + "}";
}

std::string optional_text(const std::optional<std::string>& v) {
    return v ? *v : std::string();
}
std::string optional_number(const std::optional<int64_t>& v) {
    return v ? std::to_string(*v) : std::string();
}

}  // namespace

const char* delivery_kind_name(DeliveryKind kind) {
    return kKindNames[static_cast<size_t>(kind)];
}

const char* delivery_state_name(DeliveryState state) {
    return kStateNames[static_cast<size_t>(state)];
}

std::optional<DeliveryKind> parse_delivery_kind(std::string_view name) {
    return enum_named<DeliveryKind>(kKindNames, name);
}

std::optional<DeliveryState> parse_delivery_state(std::string_view name) {
    return enum_named<DeliveryState>(kStateNames, name);
}

PgOutcome enqueue_deliveries(PgConnection& db, const std::vector<NewDelivery>& deliveries,
                             std::vector<int64_t>& ids) {
    // Columns travel as arrays; '' stands for NULL in the optional ones.
    std::vector<std::string> kind, rule_id, rule_name, message_id, target, request, attempts;
    for (const NewDelivery& d : deliveries) {
        kind.push_back(delivery_kind_name(d.kind));
        rule_id.push_back(optional_number(d.rule_id));
        rule_name.push_back(optional_text(d.rule_name));
        message_id.push_back(optional_number(d.message_id));
        target.push_back(d.target);
        request.push_back(d.request_json);
        attempts.push_back(std::to_string(d.max_attempts));
    }
    PgOutcome outcome = db.exec(
        "INSERT INTO culex.deliveries"
        " (kind, rule_id, rule_name, message_id, target, request, max_attempts)"
        " SELECT k, nullif(r, '')::bigint, nullif(n, ''), nullif(m, '')::bigint, t, q,"
        "  a::integer"
        " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],"
        "  $7::text[]) WITH ORDINALITY AS d(k, r, n, m, t, q, a, o)"
        " ORDER BY o RETURNING id",
        {pg_text_array(kind), pg_text_array(rule_id), pg_text_array(rule_name),
         pg_text_array(message_id), pg_text_array(target), pg_text_array(request),
         pg_text_array(attempts)});
    if (!outcome.ok())
        return outcome;
    ids.clear();
    for (int i = 0; i < PQntuples(outcome.result.get()); ++i)
        ids.push_back(std::strtoll(PQgetvalue(outcome.result.get(), i, 0), nullptr, 10));
    return outcome;
}

PgOutcome claim_due(PgConnection& db, size_t limit, int64_t lease_ms,
                    const std::vector<std::string>& busy_targets,
                    std::vector<DeliveryRow>& claimed) {
    // A claimed row's next_attempt_at is its lease's end, so one index finds both the
    // due rows and the abandoned claims.
    const std::string sql =
        std::string(
            "UPDATE culex.deliveries SET state = 'sending', attempts = attempts + 1,"
            " next_attempt_at = now() + $2::bigint * interval '1 millisecond',"
            " lease_until = now() + $2::bigint * interval '1 millisecond', updated_at = now()"
            " WHERE id IN (SELECT id FROM culex.deliveries"
            "  WHERE state IN ('pending', 'sending') AND next_attempt_at <= now()"
            "  AND target <> ALL($3::text[])"
            "  ORDER BY next_attempt_at, id LIMIT $1::bigint FOR UPDATE SKIP LOCKED)"
            " RETURNING ") +
        kColumns;
    return rows(db.exec(sql.c_str(), {std::to_string(limit), std::to_string(lease_ms),
                                      pg_text_array(busy_targets)}),
                claimed);
}

PgOutcome record_outcomes(PgConnection& db, const std::vector<DeliveryOutcome>& outcomes) {
    // '' stands for NULL in the optional columns; retry '' on a failure means dead.
    std::vector<std::string> ids, delivered, retry, status, error;
    for (const DeliveryOutcome& o : outcomes) {
        ids.push_back(std::to_string(o.id));
        delivered.push_back(o.delivered ? "t" : "f");
        retry.push_back(o.retry_in_ms ? std::to_string(*o.retry_in_ms) : "");
        status.push_back(o.status ? std::to_string(*o.status) : "");
        error.push_back(o.error);
    }
    return db.exec(
        "UPDATE culex.deliveries d SET"
        " state = CASE WHEN o.ok THEN 'delivered' WHEN o.retry = '' THEN 'dead' ELSE 'pending' END,"
        " next_attempt_at = CASE WHEN o.ok OR o.retry = '' THEN d.next_attempt_at"
        "  ELSE now() + nullif(o.retry, '')::bigint * interval '1 millisecond' END,"
        " delivered_at = CASE WHEN o.ok THEN now() END,"
        " lease_until = NULL, updated_at = now(), last_status = nullif(o.status, '')::integer,"
        " last_error = CASE WHEN o.ok THEN NULL ELSE o.error END"
        " FROM unnest($1::bigint[], $2::boolean[], $3::text[], $4::text[], $5::text[])"
        "  AS o(id, ok, retry, status, error)"
        " WHERE d.id = o.id",
        {pg_text_array(ids), pg_text_array(delivered), pg_text_array(retry), pg_text_array(status),
         pg_text_array(error)});
}

PgOutcome release_claims(PgConnection& db, const std::vector<int64_t>& ids) {
    return db.exec(
        "UPDATE culex.deliveries SET state = 'pending', attempts = greatest(attempts - 1, 0),"
        " next_attempt_at = now(), lease_until = NULL, updated_at = now()"
        " WHERE id = ANY($1::bigint[]) AND state = 'sending'",
        {pg_bigint_array(ids)});
}

PgOutcome get_delivery(PgConnection& db, int64_t id, std::optional<DeliveryRow>& row) {
    std::vector<DeliveryRow> found;
    const std::string sql =
        std::string("SELECT ") + kColumns + " FROM culex.deliveries WHERE id = $1::bigint";
    PgOutcome outcome = rows(db.exec(sql.c_str(), {std::to_string(id)}), found);
    row.reset();
    if (outcome.ok() && !found.empty())
        row = std::move(found.front());
    return outcome;
}

PgOutcome list_deliveries(PgConnection& db, const DeliveryFilter& f,
                          std::vector<DeliveryRow>& out) {
    SqlParams p;
    std::string sql = std::string("SELECT ") + kColumns + " FROM culex.deliveries WHERE true";
    if (f.state)
        sql += " AND state = " + p.add(delivery_state_name(*f.state));
    if (f.kind)
        sql += " AND kind = " + p.add(delivery_kind_name(*f.kind));
    if (f.rule_id)
        sql += " AND rule_id = " + p.add(std::to_string(*f.rule_id)) + "::bigint";
    if (f.before_id)
        sql += " AND id < " + p.add(std::to_string(*f.before_id)) + "::bigint";
    sql += " ORDER BY id DESC LIMIT " + p.add(std::to_string(f.limit)) + "::bigint";
    return rows(db.exec(sql.c_str(), p.values()), out);
}

PgOutcome recent_deliveries(PgConnection& db, const std::vector<int64_t>& rule_ids, int per_rule,
                            std::vector<DeliveryRow>& out) {
    const std::string sql = std::string(
                                "SELECT d.* FROM unnest($1::bigint[]) AS r(id)"
                                " CROSS JOIN LATERAL (SELECT ") +
                            kColumns +
                            " FROM culex.deliveries WHERE rule_id = r.id ORDER BY id DESC"
                            " LIMIT $2::integer) d ORDER BY d.rule_id, d.id DESC";
    return rows(db.exec(sql.c_str(), {pg_bigint_array(rule_ids), std::to_string(per_rule)}), out);
}

PgOutcome retry_delivery(PgConnection& db, int64_t id, std::optional<DeliveryRow>& row) {
    std::vector<DeliveryRow> found;
    const std::string sql = std::string(
                                "UPDATE culex.deliveries SET state = 'pending', attempts = 0,"
                                " next_attempt_at = now(), updated_at = now()"
                                " WHERE id = $1::bigint AND state = 'dead' RETURNING ") +
                            kColumns;
    PgOutcome outcome = rows(db.exec(sql.c_str(), {std::to_string(id)}), found);
    row.reset();
    if (outcome.ok() && !found.empty())
        row = std::move(found.front());
    return outcome;
}

PgOutcome count_deliveries(PgConnection& db,
                           std::vector<std::pair<DeliveryState, int64_t>>& counts) {
    PgOutcome outcome = db.exec(
        "SELECT s, (SELECT count(*) FROM culex.deliveries WHERE state = s)"
        " FROM unnest(ARRAY['pending', 'sending', 'delivered', 'dead']) AS s");
    if (!outcome.ok())
        return outcome;
    counts.clear();
    for (int i = 0; i < PQntuples(outcome.result.get()); ++i) {
        std::optional<DeliveryState> state =
            parse_delivery_state(PQgetvalue(outcome.result.get(), i, 0));
        if (state)
            counts.emplace_back(*state,
                                std::strtoll(PQgetvalue(outcome.result.get(), i, 1), nullptr, 10));
    }
    return outcome;
}

PgOutcome remove_finished_deliveries(PgConnection& db, int64_t age_s, int64_t& removed) {
    PgOutcome outcome = db.exec(
        "DELETE FROM culex.deliveries WHERE state IN ('delivered', 'dead')"
        " AND updated_at < now() - $1::bigint * interval '1 second'",
        {std::to_string(age_s)});
    if (outcome.ok())
        removed = std::atoll(PQcmdTuples(outcome.result.get()));
    return outcome;
}

}  // namespace culex
