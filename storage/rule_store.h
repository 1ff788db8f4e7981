// Rules in culex.rules, as stored: the definition's parts as JSON text. notify/rule.h
// turns a row into a runnable Rule; this file only moves rows.
//
// Functions run on the caller's connection and fill outputs only on success. A name
// that another rule has fails with kBadRow (the caller answers 409). Every change bumps
// culex.rules_generation (a trigger), which brokers poll to reload.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pg_connection.h"

namespace culex {

struct RuleRow {
    int64_t id = 0;
    std::string name;
    bool enabled = true;
    std::string topic_filter;
    std::string condition_json;
    std::string actions_json;
    std::optional<std::string> secret;
    int64_t created_us = 0;
    int64_t updated_us = 0;
};

PgOutcome insert_rule(PgConnection& db, const RuleRow& rule, RuleRow& created);
// Replaces rule `rule.id`'s definition; `found` false when there is no such rule.
PgOutcome replace_rule(PgConnection& db, const RuleRow& rule, bool& found, RuleRow& updated);
PgOutcome delete_rule(PgConnection& db, int64_t id, bool& found);
// Enables or disables one rule (`id`) or, without one, all; `changed` counts the rules
// whose state changed.
PgOutcome set_rules_enabled(PgConnection& db, std::optional<int64_t> id, bool enabled,
                            int64_t& changed, bool& found);
PgOutcome get_rule(PgConnection& db, int64_t id, std::optional<RuleRow>& rule);
// Every rule, by id; with only_enabled, the enabled ones.
PgOutcome list_rules(PgConnection& db, bool only_enabled, std::vector<RuleRow>& rules);
PgOutcome read_rules_generation(PgConnection& db, int64_t& generation);

}  // namespace culex
