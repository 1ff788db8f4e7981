#include "rule_store.h"

#include <cstdlib>

#include "message_sql.h"

namespace culex {
namespace {

constexpr const char* kColumns =
    "id, name, enabled, topic_filter, condition::text, actions::text, secret,"
    " (extract(epoch FROM created_at) * 1000000)::bigint,"
    " (extract(epoch FROM updated_at) * 1000000)::bigint";

RuleRow row_to_rule(const PGresult* r, int row) {
    RuleRow rule;
    rule.id = std::strtoll(PQgetvalue(r, row, 0), nullptr, 10);
    rule.name = pg_value(r, row, 1);
    rule.enabled = PQgetvalue(r, row, 2)[0] == 't';
    rule.topic_filter = pg_value(r, row, 3);
    rule.condition_json = pg_value(r, row, 4);
    rule.actions_json = pg_value(r, row, 5);
    if (!PQgetisnull(r, row, 6))
        rule.secret = pg_value(r, row, 6);
    rule.created_us = std::strtoll(PQgetvalue(r, row, 7), nullptr, 10);
    rule.updated_us = std::strtoll(PQgetvalue(r, row, 8), nullptr, 10);
    return rule;
}

// The secret as a parameter: NULL when absent.
std::string secret_sql(const RuleRow& rule, SqlParams& params) {
    return rule.secret ? params.add(*rule.secret) : "NULL";
}

}  // namespace

PgOutcome insert_rule(PgConnection& db, const RuleRow& rule, RuleRow& created) {
    SqlParams p;
    const std::string sql =
        "INSERT INTO culex.rules (name, enabled, topic_filter, condition, actions, secret) VALUES "
        "(" +
        p.add(rule.name) + ", " + p.add(rule.enabled ? "true" : "false") + "::boolean, " +
        p.add(rule.topic_filter) + ", " + p.add(rule.condition_json) + "::jsonb, " +
        p.add(rule.actions_json) + "::jsonb, " + secret_sql(rule, p) + ") RETURNING " + kColumns;
    PgOutcome outcome = db.exec(sql.c_str(), p.values());
    if (outcome.ok())
        created = row_to_rule(outcome.result.get(), 0);
    return outcome;
}

PgOutcome replace_rule(PgConnection& db, const RuleRow& rule, bool& found, RuleRow& updated) {
    SqlParams p;
    const std::string sql = "UPDATE culex.rules SET name = " + p.add(rule.name) +
                            ", enabled = " + p.add(rule.enabled ? "true" : "false") +
                            "::boolean, topic_filter = " + p.add(rule.topic_filter) +
                            ", condition = " + p.add(rule.condition_json) +
                            "::jsonb, actions = " + p.add(rule.actions_json) +
                            "::jsonb, secret = " + secret_sql(rule, p) +
                            ", updated_at = now() WHERE id = " + p.add(std::to_string(rule.id)) +
                            "::bigint RETURNING " + kColumns;
    PgOutcome outcome = db.exec(sql.c_str(), p.values());
    if (!outcome.ok())
        return outcome;
    found = PQntuples(outcome.result.get()) > 0;
    if (found)
        updated = row_to_rule(outcome.result.get(), 0);
    return outcome;
}

PgOutcome delete_rule(PgConnection& db, int64_t id, bool& found) {
    PgOutcome outcome =
        db.exec("DELETE FROM culex.rules WHERE id = $1::bigint", {std::to_string(id)});
    if (outcome.ok())
        found = std::atoll(PQcmdTuples(outcome.result.get())) > 0;
    return outcome;
}

PgOutcome set_rules_enabled(PgConnection& db, std::optional<int64_t> id, bool enabled,
                            int64_t& changed, bool& found) {
    // One statement that says both whether the rule exists and whether it changed.
    SqlParams p;
    const std::string which = id ? "id = " + p.add(std::to_string(*id)) + "::bigint" : "true";
    const std::string state = p.add(enabled ? "true" : "false") + "::boolean";
    const std::string sql = "WITH target AS (SELECT id, enabled FROM culex.rules WHERE " + which +
                            " FOR UPDATE),"
                            " changed AS (UPDATE culex.rules r SET enabled = " +
                            state +
                            ", updated_at = now()"
                            "  FROM target t WHERE r.id = t.id AND t.enabled <> " +
                            state +
                            " RETURNING r.id)"
                            " SELECT (SELECT count(*) FROM target), (SELECT count(*) FROM changed)";
    PgOutcome outcome = db.exec(sql.c_str(), p.values());
    if (!outcome.ok())
        return outcome;
    found = std::atoll(PQgetvalue(outcome.result.get(), 0, 0)) > 0;
    changed = std::atoll(PQgetvalue(outcome.result.get(), 0, 1));
    return outcome;
}

PgOutcome get_rule(PgConnection& db, int64_t id, std::optional<RuleRow>& rule) {
    const std::string sql =
        std::string("SELECT ") + kColumns + " FROM culex.rules WHERE id = $1::bigint";
    PgOutcome outcome = db.exec(sql.c_str(), {std::to_string(id)});
    if (!outcome.ok())
        return outcome;
    rule.reset();
    if (PQntuples(outcome.result.get()) > 0)
        rule = row_to_rule(outcome.result.get(), 0);
    return outcome;
}

PgOutcome list_rules(PgConnection& db, bool only_enabled, std::vector<RuleRow>& rules) {
    const std::string sql = std::string("SELECT ") + kColumns + " FROM culex.rules" +
                            (only_enabled ? " WHERE enabled" : "") + " ORDER BY id";
    PgOutcome outcome = db.exec(sql.c_str());
    if (!outcome.ok())
        return outcome;
    rules.clear();
    for (int i = 0; i < PQntuples(outcome.result.get()); ++i)
        rules.push_back(row_to_rule(outcome.result.get(), i));
    return outcome;
}

PgOutcome read_rules_generation(PgConnection& db, int64_t& generation) {
    PgOutcome outcome = db.exec("SELECT generation FROM culex.rules_generation");
    if (outcome.ok() && PQntuples(outcome.result.get()) == 1)
        generation = std::strtoll(PQgetvalue(outcome.result.get(), 0, 0), nullptr, 10);
    return outcome;
}

}  // namespace culex
