// The delivery outbox over HTTP: e-mail and SMS to send (write scope), and deliveries
// to read and retry. Deliveries of rules hold message data, so listing them, or reading
// or retrying one that belongs to a rule, needs a token for every topic.
#include "http/codecs/delivery_json.h"
#include "http/codecs/query_params.h"
#include "http/server/problem.h"
#include "notify/delivery_request.h"
#include "notify/recipients.h"
#include "replies.h"
#include "routes.h"

namespace culex {
namespace {

constexpr size_t kMaxSubject = 998;
constexpr size_t kMaxEmailText = 1 << 20;
constexpr size_t kMaxSmsText = 1600;
constexpr size_t kMaxRecipients = 50;

bool sees_rule_deliveries(const Principal& principal) {
    return principal.may_touch_filter("#");
}

Response accepted(ApiContext& ctx, const NewDelivery& delivery) {
    HttpResult<int64_t> queued = queue_delivery(ctx, delivery);
    if (!queued.is_ok())
        return queued.error();
    const int64_t id = queued.value();
    rapidjson::StringBuffer out;
    JsonWriter w(out);
    w.StartObject();
    w.Key("id");
    w.Int64(id);
    w.Key("state");
    w.String("pending");
    w.Key("status_url");
    write_string(w, "/api/v1/deliveries/" + std::to_string(id));
    w.EndObject();
    Response r = json_response(202, out);
    r.headers.emplace_back("Location", "/api/v1/deliveries/" + std::to_string(id));
    return r;
}

// A string field of 1..max bytes; 400 otherwise.
HttpResult<std::string> text_field(const rapidjson::Document& doc, const char* name, size_t max) {
    if (!doc.HasMember(name) || !doc[name].IsString() || doc[name].GetStringLength() == 0 ||
        doc[name].GetStringLength() > max) {
        return problem(400, std::string("field '") + name + "' must be a string of 1 to " +
                                std::to_string(max) + " bytes");
    }
    return std::string(doc[name].GetString(), doc[name].GetStringLength());
}

Response send_email(ApiContext& ctx, Request& request) {
    if (HttpResult<> none = no_query(request); !none.is_ok())
        return none.error();
    if (HttpResult<> configured = check_email_configured(ctx.config); !configured.is_ok())
        return configured.error();
    HttpResult<rapidjson::Document> body = json_body(request, {"to", "subject", "text"});
    if (!body.is_ok())
        return body.error();
    const rapidjson::Document& doc = body.value();
    std::vector<std::string> to;
    if (doc.HasMember("to") && doc["to"].IsString()) {
        to.emplace_back(doc["to"].GetString(), doc["to"].GetStringLength());
    } else if (doc.HasMember("to") && doc["to"].IsArray() && !doc["to"].Empty() &&
               doc["to"].Size() <= kMaxRecipients) {
        for (const auto& r : doc["to"].GetArray()) {
            if (!r.IsString())
                return problem(400, "field 'to' must hold strings only");
            to.emplace_back(r.GetString(), r.GetStringLength());
        }
    } else {
        return problem(400, "field 'to' must be an address or a list of 1 to 50 addresses");
    }
    for (const std::string& address : to) {
        if (Status valid = validate_email_address(address); !valid.is_ok())
            return problem(400, "field 'to': " + valid.message());
    }
    HttpResult<std::string> subject = text_field(doc, "subject", kMaxSubject);
    if (!subject.is_ok())
        return subject.error();
    if (subject.value().find_first_of("\r\n") != std::string::npos)
        return problem(400, "field 'subject' must be one line");
    HttpResult<std::string> text = text_field(doc, "text", kMaxEmailText);
    if (!text.is_ok())
        return text.error();
    return accepted(
        ctx, email_delivery(to, subject.value(), text.value(), ctx.config.delivery_max_attempts));
}

Response send_sms(ApiContext& ctx, Request& request) {
    if (HttpResult<> none = no_query(request); !none.is_ok())
        return none.error();
    if (HttpResult<> configured = check_sms_configured(ctx.config); !configured.is_ok())
        return configured.error();
    HttpResult<rapidjson::Document> body = json_body(request, {"to", "text"});
    if (!body.is_ok())
        return body.error();
    HttpResult<std::string> to = text_field(body.value(), "to", 64);
    if (!to.is_ok())
        return to.error();
    if (Status valid = validate_phone(to.value()); !valid.is_ok())
        return problem(400, "field 'to': " + valid.message());
    HttpResult<std::string> text = text_field(body.value(), "text", kMaxSmsText);
    if (!text.is_ok())
        return text.error();
    return accepted(ctx, sms_delivery(to.value(), text.value(), ctx.config.delivery_max_attempts));
}

// The delivery a path names, with the connection it was read on.
struct DeliveryInPath {
    PgPool::Lease lease;
    DeliveryRow row;
};

// 400 when the request has a query or the id is malformed, 503 when no connection is
// free, 404 when there is no such delivery the principal may see.
HttpResult<DeliveryInPath> delivery_in_path(ApiContext& ctx, const Request& request,
                                            const Principal& principal) {
    if (HttpResult<> none = no_query(request); !none.is_ok())
        return none.error();
    HttpResult<int64_t> id = id_in_path(request.path_params[0], "delivery");
    if (!id.is_ok())
        return id.error();
    HttpResult<PgPool::Lease> lease = lease_connection(ctx);
    if (!lease.is_ok())
        return lease.error();
    std::optional<DeliveryRow> row;
    PgOutcome outcome = get_delivery(lease.value().db(), id.value(), row);
    if (!outcome.ok())
        return database_failure(ctx, lease.value(), outcome);
    const bool about_topics =
        row && (row->kind == DeliveryKind::kWebhook || row->kind == DeliveryKind::kRepublish);
    if (!row || (about_topics && !sees_rule_deliveries(principal)))
        return problem(404, "no delivery with id " + std::to_string(id.value()));
    return DeliveryInPath{std::move(lease.value()), std::move(*row)};
}

Response delivery_response(const DeliveryRow& row) {
    rapidjson::StringBuffer out;
    JsonWriter w(out);
    write_delivery(w, row);
    return json_response(200, out);
}

Response get_one(ApiContext& ctx, Request& request, const Principal& principal) {
    HttpResult<DeliveryInPath> delivery = delivery_in_path(ctx, request, principal);
    if (!delivery.is_ok())
        return delivery.error();
    return delivery_response(delivery.value().row);
}

Response retry(ApiContext& ctx, Request& request, const Principal& principal) {
    HttpResult<DeliveryInPath> delivery = delivery_in_path(ctx, request, principal);
    if (!delivery.is_ok())
        return delivery.error();
    const DeliveryRow& row = delivery.value().row;
    PgPool::Lease& lease = delivery.value().lease;
    std::optional<DeliveryRow> reset;
    PgOutcome outcome = retry_delivery(lease.db(), row.id, reset);
    if (!outcome.ok())
        return database_failure(ctx, lease, outcome);
    if (!reset)
        return problem(409, "delivery " + std::to_string(row.id) + " is " +
                                delivery_state_name(row.state) +
                                "; only a dead delivery can be retried");
    // Woken only after the reset row is in hand: the dispatcher may claim it at once.
    if (ctx.wake_deliveries)
        ctx.wake_deliveries();
    return delivery_response(*reset);
}

Response list(ApiContext& ctx, Request& request, const Principal& principal) {
    HttpResult<ParamReader> parsed = read_params(request.query);
    if (!parsed.is_ok())
        return parsed.error();
    ParamReader& params = parsed.value();
    DeliveryFilter filter;
    if (std::optional<std::string> state = params.text("state")) {
        filter.state = parse_delivery_state(*state);
        if (!filter.state)
            params.fail("parameter 'state' is pending, sending, delivered or dead");
    }
    if (std::optional<std::string> kind = params.text("kind")) {
        filter.kind = parse_delivery_kind(*kind);
        if (!filter.kind)
            params.fail("parameter 'kind' is webhook, republish, email or sms");
    }
    filter.rule_id = params.integer("rule_id", 1, INT64_MAX);
    filter.limit = static_cast<size_t>(params.integer("limit", 1, 1000).value_or(100));
    filter.before_id = params.integer("cursor", 1, INT64_MAX);
    if (HttpResult<> done = finish_params(params); !done.is_ok())
        return done.error();
    if (!sees_rule_deliveries(principal))
        return problem(403, "listing deliveries needs a token for every topic ('#')");
    HttpResult<PgPool::Lease> lease = lease_connection(ctx);
    if (!lease.is_ok())
        return lease.error();
    ++filter.limit;  // one more tells whether there is a next page
    std::vector<DeliveryRow> rows;
    PgOutcome outcome = list_deliveries(lease.value().db(), filter, rows);
    if (!outcome.ok())
        return database_failure(ctx, lease.value(), outcome);
    const bool has_more = rows.size() == filter.limit;
    if (has_more)
        rows.pop_back();
    rapidjson::StringBuffer out;
    JsonWriter w(out);
    w.StartObject();
    w.Key("items");
    w.StartArray();
    for (const DeliveryRow& d : rows)
        write_delivery(w, d);
    write_page_end(w, has_more, has_more ? std::to_string(rows.back().id) : "");
    return json_response(200, out);
}

}  // namespace

HttpResult<int64_t> queue_delivery(ApiContext& ctx, const NewDelivery& delivery) {
    HttpResult<PgPool::Lease> lease = lease_connection(ctx);
    if (!lease.is_ok())
        return lease.error();
    std::vector<int64_t> ids;
    PgOutcome outcome = enqueue_deliveries(lease.value().db(), {delivery}, ids);
    if (!outcome.ok())
        return database_failure(ctx, lease.value(), outcome);
    if (ctx.wake_deliveries)
        ctx.wake_deliveries();
    return ids.front();
}

HttpResult<> check_email_configured(const Config& config, int status) {
    if (config.smtp_url.empty() || config.smtp_from.empty())
        return problem(status,
                       "e-mail is not configured on this broker (plugin_opt_smtp_url, "
                       "plugin_opt_smtp_from)");
    return Done{};
}

HttpResult<> check_sms_configured(const Config& config, int status) {
    if (config.sms_account_sid.empty() || config.sms_auth_token.empty() || config.sms_from.empty())
        return problem(status,
                       "SMS is not configured on this broker (plugin_opt_sms_account_sid, "
                       "plugin_opt_sms_auth_token, plugin_opt_sms_from)");
    return Done{};
}

void add_delivery_routes(Router& router, ApiContext& ctx) {
    router.add({"POST", "/api/v1/email", Scope::kWrite,
                [&ctx](Request& r, const Principal&) { return send_email(ctx, r); }});
    router.add({"POST", "/api/v1/sms", Scope::kWrite,
                [&ctx](Request& r, const Principal&) { return send_sms(ctx, r); }});
    router.add({"GET", "/api/v1/deliveries", Scope::kWrite,
                [&ctx](Request& r, const Principal& p) { return list(ctx, r, p); }});
    router.add({"GET", "/api/v1/deliveries/{id}", Scope::kWrite,
                [&ctx](Request& r, const Principal& p) { return get_one(ctx, r, p); }});
    router.add({"POST", "/api/v1/deliveries/{id}/retry", Scope::kWrite,
                [&ctx](Request& r, const Principal& p) { return retry(ctx, r, p); }});
}

}  // namespace culex
