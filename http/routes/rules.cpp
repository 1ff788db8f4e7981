// Rules (write scope, limited to the token's topic filters; all at once: every topic): create,
// read with their recent deliveries, replace, delete, enable and disable.
#include <map>

#include "common/time_text.h"
#include "http/codecs/delivery_json.h"
#include "http/codecs/query_params.h"
#include "http/server/problem.h"
#include "notify/rule.h"
#include "replies.h"
#include "routes.h"
#include "storage/rule_store.h"

namespace culex {
namespace {

void note_rules_changed(const ApiContext& ctx) {
    if (ctx.rules_changed)
        ctx.rules_changed();
}

constexpr int kRecentDeliveries = 5;

// A token limited to some topics may manage only rules inside them, and republish only to
// fixed topics inside them.
HttpResult<> check_rule_access(const Principal& principal, const Rule& rule) {
    if (!principal.may_touch_filter(rule.topic_filter))
        return problem(
            403, "this token's topic filters do not cover all of '" + rule.topic_filter + "'");
    for (const RuleAction& a : rule.actions) {
        if (a.kind != DeliveryKind::kRepublish || principal.may_touch_filter("#"))
            continue;
        const std::string& topic = a.topic->text();
        if (topic.find("{{") != std::string::npos || !principal.may_touch_topic(topic))
            return problem(
                403, "this token may republish only to fixed topics inside its topic filters");
    }
    return Done{};
}

void write_rule(JsonWriter& w, const RuleRow& r, const std::vector<const DeliveryRow*>& recent) {
    w.StartObject();
    w.Key("id");
    w.Int64(r.id);
    w.Key("name");
    write_string(w, r.name);
    w.Key("enabled");
    w.Bool(r.enabled);
    w.Key("topic_filter");
    write_string(w, r.topic_filter);
    rapidjson::Document condition;
    condition.Parse(r.condition_json.data(), r.condition_json.size());
    for (const char* key : {"where", "topic_like", "contains", "like"}) {
        if (condition.IsObject() && condition.HasMember(key)) {
            w.Key(key);
            condition[key].Accept(w);
        }
    }
    w.Key("actions");
    w.RawValue(r.actions_json.data(), r.actions_json.size(), rapidjson::kArrayType);
    w.Key("has_secret");
    w.Bool(r.secret.has_value());
    w.Key("created_at");
    write_string(w, format_rfc3339_us(r.created_us));
    w.Key("updated_at");
    write_string(w, format_rfc3339_us(r.updated_us));
    w.Key("recent_deliveries");
    w.StartArray();
    for (const DeliveryRow* d : recent)
        write_delivery(w, *d);
    w.EndArray();
    w.EndObject();
}

// Rules with their recent deliveries, as a JSON body.
Response rules_response(ApiContext& ctx, PgPool::Lease& lease, int status,
                        const std::vector<RuleRow>& rules, bool single) {
    std::vector<int64_t> ids;
    for (const RuleRow& r : rules)
        ids.push_back(r.id);
    std::vector<DeliveryRow> recent;
    if (!ids.empty()) {
        PgOutcome outcome = recent_deliveries(lease.db(), ids, kRecentDeliveries, recent);
        if (!outcome.ok())
            return database_failure(ctx, lease, outcome);
    }
    std::map<int64_t, std::vector<const DeliveryRow*>> by_rule;
    for (const DeliveryRow& d : recent)
        by_rule[*d.rule_id].push_back(&d);
    rapidjson::StringBuffer out;
    JsonWriter w(out);
    if (!single) {
        w.StartObject();
        w.Key("items");
        w.StartArray();
    }
    for (const RuleRow& r : rules)
        write_rule(w, r, by_rule[r.id]);
    if (!single) {
        w.EndArray();
        w.EndObject();
    }
    return json_response(status, out);
}

// The request body as a checked rule.
HttpResult<Rule> read_definition(ApiContext& ctx, Request& request, const Principal& principal) {
    HttpResult<rapidjson::Document> body = json_body(
        request,
        {"name", "enabled", "topic_filter", "where", "contains", "like", "actions", "secret"});
    if (!body.is_ok())
        return body.error();
    HttpResult<Rule> rule = parse_api_rule(ctx, body.value());
    if (!rule.is_ok())
        return rule.error();
    if (HttpResult<> allowed = check_rule_access(principal, rule.value()); !allowed.is_ok())
        return allowed.error();
    return std::move(rule.value());
}

// The rule id of a path like /api/v1/rules/{id}[/...]; 400 when there is a query or the
// id is malformed.
HttpResult<int64_t> rule_id_in_path(const Request& request) {
    if (HttpResult<> none = no_query(request); !none.is_ok())
        return none.error();
    return id_in_path(request.path_params[0], "rule");
}

// The rule a path names, with the connection it was read on.
struct RuleInPath {
    PgPool::Lease lease;
    RuleRow row;
};

// 400 when the request has a query or the id is malformed, 503 when no connection is
// free, 404 when there is no such rule the principal may see.
HttpResult<RuleInPath> rule_in_path(ApiContext& ctx, const Request& request,
                                    const Principal& principal) {
    HttpResult<int64_t> id = rule_id_in_path(request);
    if (!id.is_ok())
        return id.error();
    HttpResult<PgPool::Lease> lease = lease_connection(ctx);
    if (!lease.is_ok())
        return lease.error();
    std::optional<RuleRow> row;
    PgOutcome outcome = get_rule(lease.value().db(), id.value(), row);
    if (!outcome.ok())
        return database_failure(ctx, lease.value(), outcome);
    if (!row || !principal.may_touch_filter(row->topic_filter))
        return problem(404, "no rule with id " + std::to_string(id.value()));
    return RuleInPath{std::move(lease.value()), std::move(*row)};
}

Response create(ApiContext& ctx, Request& request, const Principal& principal) {
    if (HttpResult<> none = no_query(request); !none.is_ok())
        return none.error();
    HttpResult<Rule> rule = read_definition(ctx, request, principal);
    if (!rule.is_ok())
        return rule.error();
    HttpResult<PgPool::Lease> lease = lease_connection(ctx);
    if (!lease.is_ok())
        return lease.error();
    HttpResult<RuleRow> created = insert_new_rule(ctx, lease.value(), rule.value());
    if (!created.is_ok())
        return created.error();
    return rules_response(ctx, lease.value(), 201, {created.value()}, true);
}

Response list(ApiContext& ctx, Request& request, const Principal& principal) {
    if (HttpResult<> none = no_query(request); !none.is_ok())
        return none.error();
    HttpResult<PgPool::Lease> lease = lease_connection(ctx);
    if (!lease.is_ok())
        return lease.error();
    std::vector<RuleRow> rules;
    PgOutcome outcome = list_rules(lease.value().db(), false, rules);
    if (!outcome.ok())
        return database_failure(ctx, lease.value(), outcome);
    std::erase_if(rules,
                  [&](const RuleRow& r) { return !principal.may_touch_filter(r.topic_filter); });
    return rules_response(ctx, lease.value(), 200, rules, false);
}

Response get_one(ApiContext& ctx, Request& request, const Principal& principal) {
    HttpResult<RuleInPath> rule = rule_in_path(ctx, request, principal);
    if (!rule.is_ok())
        return rule.error();
    return rules_response(ctx, rule.value().lease, 200, {rule.value().row}, true);
}

Response replace(ApiContext& ctx, Request& request, const Principal& principal) {
    HttpResult<Rule> definition = read_definition(ctx, request, principal);
    if (!definition.is_ok())
        return definition.error();
    HttpResult<RuleInPath> rule = rule_in_path(ctx, request, principal);
    if (!rule.is_ok())
        return rule.error();
    PgPool::Lease& lease = rule.value().lease;
    definition.value().id = rule.value().row.id;
    bool found = false;
    RuleRow updated;
    PgOutcome outcome = replace_rule(lease.db(), to_row(definition.value()), found, updated);
    if (outcome.error == PgErrorKind::kBadRow)
        return problem(409, "a rule named '" + definition.value().name + "' exists");
    if (!outcome.ok())
        return database_failure(ctx, lease, outcome);
    if (!found)
        return problem(404, "no rule with id " + std::to_string(rule.value().row.id));
    note_rules_changed(ctx);
    return rules_response(ctx, lease, 200, {updated}, true);
}

Response remove(ApiContext& ctx, Request& request, const Principal& principal) {
    HttpResult<int64_t> id = rule_id_in_path(request);
    if (!id.is_ok())
        return id.error();
    HttpResult<int64_t> changed = change_rules(ctx, principal, id.value(), RuleChange::kDelete);
    if (!changed.is_ok())
        return changed.error();
    return no_content();
}

Response enabled_response(bool enabled, int64_t changed) {
    rapidjson::StringBuffer out;
    JsonWriter w(out);
    w.StartObject();
    w.Key("enabled");
    w.Bool(enabled);
    w.Key("changed");
    w.Int64(changed);
    w.EndObject();
    return json_response(200, out);
}

// Enables or disables rule {id}, or every rule when `all`.
Response set_enabled(ApiContext& ctx, Request& request, const Principal& principal, bool enabled,
                     bool all) {
    std::optional<int64_t> id;
    if (all) {
        if (HttpResult<> none = no_query(request); !none.is_ok())
            return none.error();
    } else {
        HttpResult<int64_t> in_path = rule_id_in_path(request);
        if (!in_path.is_ok())
            return in_path.error();
        id = in_path.value();
    }
    const RuleChange what = enabled ? RuleChange::kEnable : RuleChange::kDisable;
    HttpResult<int64_t> changed = change_rules(ctx, principal, id, what);
    if (!changed.is_ok())
        return changed.error();
    return enabled_response(enabled, changed.value());
}

}  // namespace

HttpResult<Rule> parse_api_rule(const ApiContext& ctx, const rapidjson::Value& definition) {
    static const TargetPolicy kDefault = TargetPolicy::parse({}, {}).value();
    Result<Rule> rule = parse_rule(definition, ctx.policy != nullptr ? ctx.policy : &kDefault);
    if (!rule.is_ok())
        return problem(400, rule.status().message());
    // Accepted, such a rule would only make deliveries that die.
    for (const RuleAction& action : rule.value().actions) {
        HttpResult<> configured =
            action.kind == DeliveryKind::kEmail ? check_email_configured(ctx.config, 409)
            : action.kind == DeliveryKind::kSms ? check_sms_configured(ctx.config, 409)
                                                : HttpResult<>(Done{});
        if (!configured.is_ok())
            return configured.error();
    }
    return std::move(rule.value());
}

HttpResult<RuleRow> insert_new_rule(ApiContext& ctx, PgPool::Lease& lease, const Rule& rule) {
    RuleRow created;
    PgOutcome outcome = insert_rule(lease.db(), to_row(rule), created);
    if (outcome.error == PgErrorKind::kBadRow)
        return problem(409, "a rule named '" + rule.name + "' exists");
    if (!outcome.ok())
        return database_failure(ctx, lease, outcome);
    note_rules_changed(ctx);
    return created;
}

HttpResult<int64_t> change_rules(ApiContext& ctx, const Principal& principal,
                                 std::optional<int64_t> id, RuleChange what) {
    if (!id && !principal.may_touch_filter("#"))
        return problem(403, "enabling or disabling every rule needs a token for every topic ('#')");
    HttpResult<PgPool::Lease> lease = lease_connection(ctx);
    if (!lease.is_ok())
        return lease.error();
    PgConnection& db = lease.value().db();
    const auto missing = [&] { return problem(404, "no rule with id " + std::to_string(*id)); };
    if (id) {
        std::optional<RuleRow> row;
        PgOutcome read = get_rule(db, *id, row);
        if (!read.ok())
            return database_failure(ctx, lease.value(), read);
        if (!row || !principal.may_touch_filter(row->topic_filter))
            return missing();
    }
    bool found = false;
    int64_t changed = 0;
    PgOutcome outcome =
        what == RuleChange::kDelete
            ? delete_rule(db, *id, found)
            : set_rules_enabled(db, id, what == RuleChange::kEnable, changed, found);
    if (!outcome.ok())
        return database_failure(ctx, lease.value(), outcome);
    if (what == RuleChange::kDelete)
        changed = found ? 1 : 0;
    if (changed > 0)
        note_rules_changed(ctx);
    if (id && !found)
        return missing();
    return changed;
}

void add_rule_routes(Router& router, ApiContext& ctx) {
    router.add({"GET", "/api/v1/rules", Scope::kWrite,
                [&ctx](Request& r, const Principal& p) { return list(ctx, r, p); }});
    router.add({"POST", "/api/v1/rules", Scope::kWrite,
                [&ctx](Request& r, const Principal& p) { return create(ctx, r, p); }});
    router.add({"GET", "/api/v1/rules/{id}", Scope::kWrite,
                [&ctx](Request& r, const Principal& p) { return get_one(ctx, r, p); }});
    router.add({"PUT", "/api/v1/rules/{id}", Scope::kWrite,
                [&ctx](Request& r, const Principal& p) { return replace(ctx, r, p); }});
    router.add({"DELETE", "/api/v1/rules/{id}", Scope::kWrite,
                [&ctx](Request& r, const Principal& p) { return remove(ctx, r, p); }});
    router.add(
        {"POST", "/api/v1/rules/{id}/enable", Scope::kWrite,
         [&ctx](Request& r, const Principal& p) { return set_enabled(ctx, r, p, true, false); }});
    router.add(
        {"POST", "/api/v1/rules/{id}/disable", Scope::kWrite,
         [&ctx](Request& r, const Principal& p) { return set_enabled(ctx, r, p, false, false); }});
    router.add(
        {"POST", "/api/v1/rules/enable", Scope::kWrite,
         [&ctx](Request& r, const Principal& p) { return set_enabled(ctx, r, p, true, true); }});
    router.add(
        {"POST", "/api/v1/rules/disable", Scope::kWrite,
         [&ctx](Request& r, const Principal& p) { return set_enabled(ctx, r, p, false, true); }});
}

}  // namespace culex
