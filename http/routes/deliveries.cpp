// The delivery outbox over HTTP: e-mail and SMS to send (write scope), and deliveries
// to read and retry. Deliveries of rules hold message data, so listing them, or reading
// or retrying one that belongs to a rule, needs a token for every topic.
#include "http/codecs/delivery_json.h"
#include "http/codecs/query_params.h"
#include "http/server/problem.h"
#include "json_out.h"
#include "notify/delivery_request.h"
#include "notify/rule.h"
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
    int64_t id = 0;
    if (std::optional<Response> failed = queue_delivery(ctx, delivery, id))
        return *failed;
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

// A string field of 1..max bytes; nullopt with `error` set otherwise.
std::optional<std::string> text_field(const rapidjson::Document& doc, const char* name, size_t max,
                                      Response& error) {
    if (!doc.HasMember(name) || !doc[name].IsString() || doc[name].GetStringLength() == 0 ||
        doc[name].GetStringLength() > max) {
        error = problem(400, std::string("field '") + name + "' must be a string of 1 to " +
                                 std::to_string(max) + " bytes");
        return std::nullopt;
    }
    return std::string(doc[name].GetString(), doc[name].GetStringLength());
}

Response send_email(ApiContext& ctx, Request& request) {
    if (!request.query.empty())
        return problem(400, "this endpoint takes no query parameters");
    if (std::optional<Response> off = email_unavailable(ctx.config))
        return *off;
    rapidjson::Document doc;
    Response error;
    if (!parse_json_object(request, {"to", "subject", "text"}, doc, error))
        return error;
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
    std::optional<std::string> subject = text_field(doc, "subject", kMaxSubject, error);
    if (!subject)
        return error;
    if (subject->find_first_of("\r\n") != std::string::npos)
        return problem(400, "field 'subject' must be one line");
    std::optional<std::string> text = text_field(doc, "text", kMaxEmailText, error);
    if (!text)
        return error;
    return accepted(ctx, email_delivery(to, *subject, *text, ctx.config.delivery_max_attempts));
}

Response send_sms(ApiContext& ctx, Request& request) {
    if (!request.query.empty())
        return problem(400, "this endpoint takes no query parameters");
    if (std::optional<Response> off = sms_unavailable(ctx.config))
        return *off;
    rapidjson::Document doc;
    Response error;
    if (!parse_json_object(request, {"to", "text"}, doc, error))
        return error;
    std::optional<std::string> to = text_field(doc, "to", 64, error);
    if (!to)
        return error;
    if (Status valid = validate_phone(*to); !valid.is_ok())
        return problem(400, "field 'to': " + valid.message());
    std::optional<std::string> text = text_field(doc, "text", kMaxSmsText, error);
    if (!text)
        return error;
    return accepted(ctx, sms_delivery(*to, *text, ctx.config.delivery_max_attempts));
}

// The delivery a path names, with the connection it was read on.
struct DeliveryInPath {
    PgPool::Lease lease;
    DeliveryRow row;
};

// nullopt with `error` set when the request has a query (400), the id is malformed (400),
// no connection is free (503), or there is no such delivery the principal may see (404).
std::optional<DeliveryInPath> delivery_in_path(ApiContext& ctx, const Request& request,
                                               const Principal& principal, Response& error) {
    if (!request.query.empty()) {
        error = problem(400, "this endpoint takes no query parameters");
        return std::nullopt;
    }
    std::optional<int64_t> id = parse_record_id(request.path_params[0]);
    if (!id) {
        error = problem(400, "a delivery id is a positive integer");
        return std::nullopt;
    }
    Result<PgPool::Lease> lease = ctx.pool.acquire(kConnectionWait);
    if (!lease.is_ok()) {
        error = database_unavailable(lease.status());
        return std::nullopt;
    }
    std::optional<DeliveryRow> row;
    PgOutcome outcome = get_delivery(lease.value().db(), *id, row);
    if (!outcome.ok()) {
        error = database_failure(ctx, lease.value(), outcome);
        return std::nullopt;
    }
    const bool about_topics = row && (row->kind == "webhook" || row->kind == "republish");
    if (!row || (about_topics && !sees_rule_deliveries(principal))) {
        error = problem(404, "no delivery with id " + std::to_string(*id));
        return std::nullopt;
    }
    return DeliveryInPath{std::move(lease.value()), std::move(*row)};
}

Response delivery_response(const DeliveryRow& row) {
    rapidjson::StringBuffer out;
    JsonWriter w(out);
    write_delivery(w, row);
    return json_response(200, out);
}

Response get_one(ApiContext& ctx, Request& request, const Principal& principal) {
    Response error;
    std::optional<DeliveryInPath> delivery = delivery_in_path(ctx, request, principal, error);
    if (!delivery)
        return error;
    return delivery_response(delivery->row);
}

Response retry(ApiContext& ctx, Request& request, const Principal& principal) {
    Response error;
    std::optional<DeliveryInPath> delivery = delivery_in_path(ctx, request, principal, error);
    if (!delivery)
        return error;
    const DeliveryRow& row = delivery->row;
    bool found = false;
    PgOutcome outcome = retry_delivery(delivery->lease.db(), row.id, found);
    if (!outcome.ok())
        return database_failure(ctx, delivery->lease, outcome);
    if (!found)
        return problem(409, "delivery " + std::to_string(row.id) + " is " + row.state +
                                "; only a dead delivery can be retried");
    if (ctx.wake_deliveries)
        ctx.wake_deliveries();
    std::optional<DeliveryRow> now;
    outcome = get_delivery(delivery->lease.db(), row.id, now);
    if (!outcome.ok())
        return database_failure(ctx, delivery->lease, outcome);
    if (!now)
        return problem(404, "no delivery with id " + std::to_string(row.id));
    return delivery_response(*now);
}

Response list(ApiContext& ctx, Request& request, const Principal& principal) {
    Result<ParamReader> parsed = ParamReader::parse(request.query);
    if (!parsed.is_ok())
        return problem(400, parsed.status().message());
    ParamReader& params = parsed.value();
    DeliveryFilter filter;
    filter.state = params.text("state");
    if (filter.state && *filter.state != "pending" && *filter.state != "sending" &&
        *filter.state != "delivered" && *filter.state != "dead")
        params.fail("parameter 'state' is pending, sending, delivered or dead");
    filter.kind = params.text("kind");
    if (filter.kind && *filter.kind != "webhook" && *filter.kind != "republish" &&
        *filter.kind != "email" && *filter.kind != "sms")
        params.fail("parameter 'kind' is webhook, republish, email or sms");
    filter.rule_id = params.integer("rule_id", 1, INT64_MAX);
    filter.limit = static_cast<size_t>(params.integer("limit", 1, 1000).value_or(100));
    filter.before_id = params.integer("cursor", 1, INT64_MAX);
    if (Status done = params.finish(); !done.is_ok())
        return problem(400, done.message());
    if (!sees_rule_deliveries(principal))
        return problem(403, "listing deliveries needs a token for every topic ('#')");
    Result<PgPool::Lease> lease = ctx.pool.acquire(kConnectionWait);
    if (!lease.is_ok())
        return database_unavailable(lease.status());
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

std::optional<Response> queue_delivery(ApiContext& ctx, const NewDelivery& delivery, int64_t& id) {
    Result<PgPool::Lease> lease = ctx.pool.acquire(kConnectionWait);
    if (!lease.is_ok())
        return database_unavailable(lease.status());
    std::vector<int64_t> ids;
    PgOutcome outcome = enqueue_deliveries(lease.value().db(), {delivery}, ids);
    if (!outcome.ok())
        return database_failure(ctx, lease.value(), outcome);
    id = ids.front();
    if (ctx.wake_deliveries)
        ctx.wake_deliveries();
    return std::nullopt;
}

std::optional<Response> email_unavailable(const Config& config) {
    if (config.smtp_url.empty() || config.smtp_from.empty())
        return problem(503,
                       "e-mail is not configured on this broker (plugin_opt_smtp_url, "
                       "plugin_opt_smtp_from)");
    return std::nullopt;
}

std::optional<Response> sms_unavailable(const Config& config) {
    if (config.sms_account_sid.empty() || config.sms_auth_token.empty() || config.sms_from.empty())
        return problem(503,
                       "SMS is not configured on this broker (plugin_opt_sms_account_sid, "
                       "plugin_opt_sms_auth_token, plugin_opt_sms_from)");
    return std::nullopt;
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
