// Reads of stored messages: one record, a series with conditions, time buckets and the
// topics listing.
#include <algorithm>
#include <charconv>
#include <cmath>

#include "common/clock.h"

#include "common/json_condition.h"
#include "common/time_text.h"
#include "common/topic_filter.h"
#include "http/codecs/cursor.h"
#include "http/codecs/selection_params.h"
#include "http/server/problem.h"
#include "replies.h"
#include "routes.h"
#include "storage/message_reads.h"

namespace culex {
namespace {

constexpr int64_t kDefaultPage = 100;
constexpr int64_t kMaxPage = 1000;
constexpr int64_t kMaxBuckets = 10000;
constexpr int64_t kDayUs = int64_t{86400} * 1000000;

// Reads the page parameters (limit, order, cursor) into `page`.
void read_page(ParamReader& params, PageRequest& page) {
    page.limit = static_cast<size_t>(params.integer("limit", 1, kMaxPage).value_or(kDefaultPage));
    if (std::optional<std::string> order = params.text("order")) {
        if (*order == "asc")
            page.ascending = true;
        else if (*order != "desc")
            params.fail("parameter 'order' must be asc or desc");
    }
    if (std::optional<std::string> cursor = params.text("cursor")) {
        page.after = decode_series_cursor(*cursor);
        if (!page.after)
            params.fail("parameter 'cursor' is not a cursor this API returned");
    }
}

// Duration of a bucket: seconds, or a number with s, m, h or d.
std::optional<int64_t> parse_bucket_us(const std::string& text) {
    if (text.empty())
        return std::nullopt;
    int64_t unit = 1;
    std::string_view digits = text;
    switch (text.back()) {
        case 's':
            digits.remove_suffix(1);
            break;
        case 'm':
            unit = 60;
            digits.remove_suffix(1);
            break;
        case 'h':
            unit = 3600;
            digits.remove_suffix(1);
            break;
        case 'd':
            unit = 86400;
            digits.remove_suffix(1);
            break;
        default:
            break;
    }
    int64_t n = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    constexpr int64_t kMaxSeconds = int64_t{31} * 86400;
    if (ec != std::errc() || end != digits.data() + digits.size() || n < 1 || n > kMaxSeconds ||
        n * unit > kMaxSeconds)
        return std::nullopt;
    return n * unit * 1000000;
}

// The record as JSON, or with `raw_payload` its payload bytes as they were published.
Response get_one(ApiContext& ctx, Request& request, const Principal& principal, bool raw_payload) {
    HttpResult<ParamReader> params = read_params(request.query);
    if (!params.is_ok())
        return params.error();
    if (HttpResult<> done = finish_params(params.value()); !done.is_ok())
        return done.error();
    HttpResult<int64_t> id = id_in_path(request.path_params[0], "record");
    if (!id.is_ok())
        return id.error();
    std::optional<StoredMessage> found;
    HttpResult<> read = run_read(ctx, [&](PgConnection& db, PartitionMap* partitions) {
        return read_message(db, partitions, id.value(), found);
    });
    if (!read.is_ok())
        return read.error();
    // Records outside the token's filters answer like missing ones: ids are guessable.
    if (!found || !principal.may_touch_topic(found->topic))
        return problem(404, "no record with id " + std::to_string(id.value()));
    if (!raw_payload) {
        rapidjson::StringBuffer out;
        JsonWriter w(out);
        write_message(w, *found);
        return json_response(200, out);
    }
    Response raw;
    raw.content_type = "application/octet-stream";
    raw.body = std::move(found->payload);
    return raw;
}

// Newest first by default; `latest_only` answers one record or 404 instead of a page.
Response get_series(ApiContext& ctx, Request& request, const Principal& principal,
                    bool latest_only) {
    HttpResult<ParamReader> parsed = read_params(request.query);
    if (!parsed.is_ok())
        return parsed.error();
    ParamReader& params = parsed.value();
    MessageSelection selection;
    read_selection(params, selection);
    PageRequest page;
    if (latest_only)
        page.limit = 1;
    else
        read_page(params, page);
    if (HttpResult<> done = finish_params(params); !done.is_ok())
        return done.error();
    if (latest_only && !selection.topic && !selection.filter)
        return problem(400, "give 'topic' or 'filter'");
    if (HttpResult<> allowed = check_topic_access(principal, selection); !allowed.is_ok())
        return allowed.error();
    if (!selection.topic && !selection.filter)
        selection.filter = "#";
    std::vector<StoredMessage> rows;
    HttpResult<> read = run_read(ctx, [&](PgConnection& db, PartitionMap* partitions) {
        return read_series(db, partitions, selection, page, rows);
    });
    if (!read.is_ok())
        return read.error();
    rapidjson::StringBuffer out;
    JsonWriter w(out);
    if (latest_only) {
        if (rows.empty())
            return problem(404, "no stored message matches");
        write_message(w, rows.front());
        return json_response(200, out);
    }
    const bool has_more = rows.size() > page.limit;
    if (has_more)
        rows.resize(page.limit);
    w.StartObject();
    w.Key("items");
    w.StartArray();
    for (const StoredMessage& m : rows)
        write_message(w, m);
    write_page_end(w, has_more,
                   has_more ? encode_series_cursor({rows.back().received_us, rows.back().id}) : "");
    return json_response(200, out);
}

Response get_aggregate(ApiContext& ctx, Request& request, const Principal& principal) {
    HttpResult<ParamReader> parsed = read_params(request.query);
    if (!parsed.is_ok())
        return parsed.error();
    ParamReader& params = parsed.value();
    MessageSelection selection;
    read_selection(params, selection);
    std::vector<std::string> path;
    const std::string field = params.text("field").value_or("$");
    if (Result<std::vector<std::string>> p = parse_json_path(field); p.is_ok())
        path = std::move(p.value());
    else
        params.fail("parameter 'field': " + p.status().message());
    const std::string bucket_text = params.text("bucket").value_or("1m");
    std::optional<int64_t> bucket_us = parse_bucket_us(bucket_text);
    if (!bucket_us)
        params.fail("parameter 'bucket' must be a duration from 1s to 31d, like 60s, 5m, 1h or 1d");
    if (HttpResult<> done = finish_params(params); !done.is_ok())
        return done.error();
    if (!selection.topic && !selection.filter)
        return problem(400, "give 'topic' or 'filter'");
    if (HttpResult<> allowed = check_topic_access(principal, selection); !allowed.is_ok())
        return allowed.error();
    // Without bounds: the last 24 hours; with one bound: 24 hours from it.
    const int64_t now_us = wall_clock_us();
    if (!selection.after_us)
        selection.after_us = selection.before_us.value_or(now_us) - kDayUs;
    const int64_t end_us = selection.before_us.value_or(std::max(now_us, *selection.after_us));
    if ((end_us - *selection.after_us) / *bucket_us > kMaxBuckets)
        return problem(400, "at most 10000 buckets: widen 'bucket' or narrow the time range");
    std::vector<AggregateBucket> buckets;
    HttpResult<> read = run_read(ctx, [&](PgConnection& db, PartitionMap*) {
        return read_buckets(db, selection, path, *bucket_us, buckets);
    });
    if (!read.is_ok())
        return read.error();
    rapidjson::StringBuffer out;
    JsonWriter w(out);
    w.StartObject();
    w.Key("field");
    write_string(w, field);
    w.Key("bucket_seconds");
    w.Int64(*bucket_us / 1000000);
    w.Key("buckets");
    w.StartArray();
    for (const AggregateBucket& b : buckets) {
        w.StartObject();
        w.Key("start");
        write_string(w, format_rfc3339_us(b.start_us));
        w.Key("start_ms");
        w.Int64(b.start_us / 1000);
        w.Key("count");
        w.Int64(b.count);
        // The stored numbers' text is valid JSON: min, max, first and last go out exactly.
        const std::pair<const char*, const std::string*> stored[] = {
            {"min", &b.min}, {"max", &b.max}, {"first", &b.first}, {"last", &b.last}};
        for (const auto& [name, value] : stored) {
            w.Key(name);
            w.RawValue(value->data(), value->size(), rapidjson::kNumberType);
        }
        // JSON has no infinity: a sum past double's range is null.
        const std::pair<const char*, double> computed[] = {{"avg", b.avg}, {"sum", b.sum}};
        for (const auto& [name, value] : computed) {
            w.Key(name);
            if (std::isfinite(value))
                w.Double(value);
            else
                w.Null();
        }
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return json_response(200, out);
}

Response get_topics(ApiContext& ctx, Request& request, const Principal& principal) {
    HttpResult<ParamReader> parsed = read_params(request.query);
    if (!parsed.is_ok())
        return parsed.error();
    ParamReader& params = parsed.value();
    MessageSelection selection;
    selection.filter = params.text("filter").value_or("#");
    if (Status valid = validate_topic_filter(*selection.filter); !valid.is_ok())
        params.fail("parameter 'filter': " + valid.message());
    const auto limit =
        static_cast<size_t>(params.integer("limit", 1, kMaxPage).value_or(kDefaultPage));
    std::optional<std::string> after;
    if (std::optional<std::string> cursor = params.text("cursor")) {
        after = decode_name_cursor(*cursor);
        if (!after)
            params.fail("parameter 'cursor' is not a cursor this API returned");
    }
    if (HttpResult<> done = finish_params(params); !done.is_ok())
        return done.error();
    if (HttpResult<> allowed = check_topic_access(principal, selection); !allowed.is_ok())
        return allowed.error();
    std::vector<TopicSummary> topics;
    HttpResult<> read = run_read(ctx, [&](PgConnection& db, PartitionMap*) {
        return read_topics(db, *selection.filter, after, limit, topics);
    });
    if (!read.is_ok())
        return read.error();
    const bool has_more = topics.size() > limit;
    if (has_more)
        topics.resize(limit);
    rapidjson::StringBuffer out;
    JsonWriter w(out);
    w.StartObject();
    w.Key("items");
    w.StartArray();
    for (const TopicSummary& t : topics) {
        w.StartObject();
        w.Key("topic");
        write_string(w, t.topic);
        w.Key("messages");
        w.Int64(t.messages);
        w.Key("latest");
        write_message(w, t.latest);
        w.EndObject();
    }
    write_page_end(w, has_more, has_more ? encode_name_cursor(topics.back().topic) : "");
    return json_response(200, out);
}

}  // namespace

void add_message_routes(Router& router, ApiContext& ctx) {
    router.add({"GET", "/api/v1/messages", Scope::kRead,
                [&ctx](Request& r, const Principal& p) { return get_series(ctx, r, p, false); }});
    router.add({"GET", "/api/v1/messages/latest", Scope::kRead,
                [&ctx](Request& r, const Principal& p) { return get_series(ctx, r, p, true); }});
    router.add({"GET", "/api/v1/messages/aggregate", Scope::kRead,
                [&ctx](Request& r, const Principal& p) { return get_aggregate(ctx, r, p); }});
    router.add({"GET", "/api/v1/messages/{id}", Scope::kRead,
                [&ctx](Request& r, const Principal& p) { return get_one(ctx, r, p, false); }});
    router.add({"GET", "/api/v1/messages/{id}/payload", Scope::kRead,
                [&ctx](Request& r, const Principal& p) { return get_one(ctx, r, p, true); }});
    router.add({"GET", "/api/v1/topics", Scope::kRead,
                [&ctx](Request& r, const Principal& p) { return get_topics(ctx, r, p); }});
}

}  // namespace culex
