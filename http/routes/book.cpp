// The API of the platform in Tamboli's "Build Your Own IoT Platform", on its own paths
// and with its answers, so that apps written for it run against Culex with only the
// base URL and token changed. Each route is a thin adapter over what /api/v1 uses: the
// same selections, storage calls, outbox, deliveries and rules. Unlike the book, every
// route checks the token and its topic filters, and every value reaches SQL as a
// parameter. docs/book-compat.md maps each route to its /api/v1 equivalent.
#include <charconv>

#include "common/book_record.h"
#include "common/clock.h"
#include "common/time_text.h"
#include "common/topic_filter.h"
#include "common/utf8.h"
#include "http/codecs/query_params.h"
#include "http/codecs/random_values.h"
#include "http/server/problem.h"
#include "notify/delivery_request.h"
#include "notify/recipients.h"
#include "notify/rule.h"
#include "publishing.h"
#include "replies.h"
#include "routes.h"
#include "storage/delivery_store.h"
#include "storage/message_changes.h"
#include "storage/message_reads.h"
#include "storage/rule_store.h"

namespace culex {
namespace {

constexpr int64_t kMaxCount = 1000;
constexpr int64_t kMaxDeleteCount = 1000000;
constexpr int64_t kMaxCodeLength = 4096;

// A path segment as a count from 1 to `max`.
std::optional<int64_t> parse_count(const std::string& segment, int64_t max) {
    int64_t n = 0;
    auto [end, ec] = std::from_chars(segment.data(), segment.data() + segment.size(), n);
    if (ec != std::errc() || end != segment.data() + segment.size() || n < 1 || n > max)
        return std::nullopt;
    return n;
}

// A topic from a path segment: valid UTF-8, no NUL, no wildcards.
HttpResult<> check_topic(const std::string& topic) {
    if (Status valid = validate_topic_name(topic); !valid.is_ok())
        return problem(400, "topic: " + valid.message());
    return Done{};
}

// The book's `*` wildcard as a LIKE pattern; LIKE's own `%`, `_` and `\` stay literal.
std::string star_to_like(const std::string& pattern) {
    std::string like;
    for (char c : pattern) {
        if (c == '%' || c == '_' || c == '\\')
            like += '\\';
        like += c == '*' ? '%' : c;
    }
    return like;
}

// A topic pattern from a path segment, as LIKE; nullopt when it is not UTF-8 text.
std::optional<std::string> topic_pattern(const std::string& pattern) {
    if (pattern.empty() || !is_valid_utf8(pattern) || pattern.find('\0') != std::string::npos)
        return std::nullopt;
    return star_to_like(pattern);
}

// A time in a path and its precision: epoch seconds with up to six decimals (the book's
// timestamps have three), or RFC 3339.
struct BookTime {
    int64_t us = 0;
    int64_t precision_us = 1;  // "1795678262.114" stands for a whole millisecond
};

std::optional<BookTime> parse_book_time(const std::string& text) {
    const size_t dot = text.find('.');
    const std::string whole = text.substr(0, dot);
    int64_t seconds = 0;
    auto [end, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), seconds);
    if (ec == std::errc() && end == whole.data() + whole.size() && !whole.empty()) {
        if (seconds < 0 || seconds > 253402300799)  // up to 9999-12-31
            return std::nullopt;
        BookTime t{seconds * 1000000, 1000000};
        if (dot != std::string::npos) {
            const std::string fraction = text.substr(dot + 1);
            if (fraction.empty() || fraction.size() > 6 ||
                fraction.find_first_not_of("0123456789") != std::string::npos)
                return std::nullopt;
            t.us += std::stoll(fraction + std::string(6 - fraction.size(), '0'));
            for (size_t i = 0; i < fraction.size(); ++i)
                t.precision_us /= 10;
        }
        return t;
    }
    if (text.find('T') == std::string::npos)
        return std::nullopt;
    std::optional<int64_t> us = parse_time_us(text);
    if (!us)
        return std::nullopt;
    return BookTime{*us, 1};
}

Response json_array_response(const std::vector<StoredMessage>& rows) {
    rapidjson::StringBuffer out;
    JsonWriter w(out);
    w.StartArray();
    for (const StoredMessage& m : rows)
        write_book_record(w, m);
    w.EndArray();
    return json_response(200, out);
}

Response success(std::initializer_list<std::pair<const char*, std::string>> text_fields,
                 std::initializer_list<std::pair<const char*, int64_t>> number_fields = {}) {
    rapidjson::StringBuffer out;
    JsonWriter w(out);
    w.StartObject();
    w.Key("success");
    w.Bool(true);
    for (const auto& [key, value] : text_fields) {
        w.Key(key);
        write_string(w, value);
    }
    for (const auto& [key, value] : number_fields) {
        w.Key(key);
        w.Int64(value);
    }
    w.EndObject();
    return json_response(200, out);
}

// Access to a selection made of an exact topic or a pattern: a pattern needs a token for
// every topic, since it can name any.
HttpResult<> check_access(const Principal& principal, const MessageSelection& s) {
    if (s.topic_like && !principal.may_touch_filter("#"))
        return problem(403, "topic patterns need a token for every topic ('#')");
    return check_topic_access(principal, s);
}

// The newest `limit` records of `selection`, newest first, as the book lists them.
Response read_newest(ApiContext& ctx, const Principal& principal, MessageSelection selection,
                     int64_t limit) {
    if (HttpResult<> allowed = check_access(principal, selection); !allowed.is_ok())
        return allowed.error();
    if (!selection.topic)
        selection.filter = "#";
    PageRequest page;
    page.limit = static_cast<size_t>(limit);
    page.ascending = false;
    std::vector<StoredMessage> rows;
    HttpResult<> read = run_read(ctx, [&](PgConnection& db, PartitionMap* partitions) {
        return read_series(db, partitions, selection, page, rows);
    });
    if (!read.is_ok())
        return read.error();
    if (rows.size() > page.limit)
        rows.resize(page.limit);
    return json_array_response(rows);
}

// GET /get/{topic}[/last/{count}]
Response get_latest(ApiContext& ctx, Request& request, const Principal& principal, bool counted) {
    if (HttpResult<> none = no_query(request); !none.is_ok())
        return none.error();
    if (HttpResult<> valid = check_topic(request.path_params[0]); !valid.is_ok())
        return valid.error();
    std::optional<int64_t> count = counted ? parse_count(request.path_params[1], kMaxCount) : 1;
    if (!count)
        return problem(400, "count is an integer from 1 to 1000");
    MessageSelection selection;
    selection.topic = request.path_params[0];
    return read_newest(ctx, principal, std::move(selection), *count);
}

// GET /get/topicLike/{topic}/payloadLike/{payload}/last/{count}
Response get_like(ApiContext& ctx, Request& request, const Principal& principal) {
    if (HttpResult<> none = no_query(request); !none.is_ok())
        return none.error();
    std::optional<std::string> topic = topic_pattern(request.path_params[0]);
    if (!topic)
        return problem(400, "the topic pattern must be UTF-8 text ('*' is the wildcard)");
    std::optional<int64_t> count = parse_count(request.path_params[2], kMaxCount);
    if (!count)
        return problem(400, "count is an integer from 1 to 1000");
    MessageSelection selection;
    selection.topic_like = *topic;
    selection.payload_like = star_to_like(request.path_params[1]);
    return read_newest(ctx, principal, std::move(selection), *count);
}

enum class Window { kAfter, kBefore, kDuring };

// GET /get/{topic}/after|before/{time}/last/{count}, /get/{topic}/during/{a}/{b}/last/{n}
Response get_window(ApiContext& ctx, Request& request, const Principal& principal, Window window) {
    if (HttpResult<> none = no_query(request); !none.is_ok())
        return none.error();
    std::optional<std::string> topic = topic_pattern(request.path_params[0]);
    if (!topic)
        return problem(400, "the topic pattern must be UTF-8 text ('*' is the wildcard)");
    const size_t times = window == Window::kDuring ? 2 : 1;
    std::vector<BookTime> bounds;
    for (size_t i = 1; i <= times; ++i) {
        std::optional<BookTime> t = parse_book_time(request.path_params[i]);
        if (!t) {
            return problem(400, "'" + request.path_params[i] +
                                    "' is not a time: give epoch seconds (1795678262.114) or "
                                    "RFC 3339");
        }
        bounds.push_back(*t);
    }
    std::optional<int64_t> count = parse_count(request.path_params[times + 1], kMaxCount);
    if (!count)
        return problem(400, "count is an integer from 1 to 1000");
    MessageSelection selection;
    selection.topic_like = *topic;
    // The book's bounds are inclusive at the precision given (a time to the millisecond
    // takes in that whole millisecond); the selection's are strict.
    if (window == Window::kAfter || window == Window::kDuring)
        selection.after_us = bounds[0].us - 1;
    const BookTime& last = bounds.back();
    if (window == Window::kBefore || window == Window::kDuring)
        selection.before_us = last.us + last.precision_us;
    if (window == Window::kDuring && bounds[1].us < bounds[0].us)
        return problem(400, "the end of the window is before its start");
    return read_newest(ctx, principal, std::move(selection), *count);
}

enum class Which { kAll, kId, kFirst, kLast };

// Soft delete (GET /delete/...) or purge (DELETE /purge/...) of a topic's records.
Response change(ApiContext& ctx, Request& request, const Principal& principal, bool purging,
                Which which) {
    if (HttpResult<> none = no_query(request); !none.is_ok())
        return none.error();
    if (HttpResult<> valid = check_topic(request.path_params[0]); !valid.is_ok())
        return valid.error();
    MessageSelection selection;
    selection.topic = request.path_params[0];
    DeleteScope scope;
    if (which == Which::kId) {
        HttpResult<int64_t> id = id_in_path(request.path_params[1], "record");
        if (!id.is_ok())
            return id.error();
        selection.id = id.value();
    } else if (which != Which::kAll) {
        std::optional<int64_t> count = parse_count(request.path_params[1], kMaxDeleteCount);
        if (!count)
            return problem(400, "count is an integer from 1 to 1000000");
        scope = {which == Which::kFirst ? DeleteScope::Kind::kOldest : DeleteScope::Kind::kNewest,
                 *count};
    }
    if (HttpResult<> allowed = check_access(principal, selection); !allowed.is_ok())
        return allowed.error();
    HttpResult<ChangeCount> count = change_selection(ctx, selection, scope, purging);
    if (!count.is_ok())
        return count.error();
    rapidjson::StringBuffer out;
    JsonWriter w(out);
    w.StartObject();
    w.Key("found");
    w.Int64(count.value().matched);
    w.Key("changed");
    w.Int64(count.value().changed);
    w.EndObject();
    return json_response(200, out);
}

// POST /pub/{topic}/{payload}: QoS 2, not retained, as the book publishes.
Response pub(ApiContext& ctx, Request& request, const Principal& principal) {
    if (HttpResult<> none = no_query(request); !none.is_ok())
        return none.error();
    OutgoingMessage m;
    m.topic = request.path_params[0];
    if (HttpResult<> allowed = check_publish_topic(principal, m.topic); !allowed.is_ok())
        return allowed.error();
    m.payload = request.path_params[1];
    m.qos = 2;
    m.client_id = "http";
    m.username = principal.name;
    if (HttpResult<> published = publish_and_wait(ctx, std::move(m)); !published.is_ok())
        return published.error();
    return success({{"message", "published to " + request.path_params[0]}});
}

Response timestamp(Request& request) {
    if (HttpResult<> none = no_query(request); !none.is_ok())
        return none.error();
    rapidjson::StringBuffer out;
    JsonWriter w(out);
    w.StartObject();
    w.Key("timestamp");
    write_string(w, std::to_string(wall_clock_us() / 1000));
    w.EndObject();
    return json_response(200, out);
}

Response random_code(Request& request) {
    if (HttpResult<> none = no_query(request); !none.is_ok())
        return none.error();
    std::optional<int64_t> length = parse_count(request.path_params[0], kMaxCodeLength);
    if (!length)
        return problem(400, "the length is an integer from 1 to 4096");
    rapidjson::StringBuffer out;
    JsonWriter w(out);
    w.StartObject();
    w.Key("code");
    write_string(w, random_text(kAlphanumeric, static_cast<size_t>(*length)));
    w.EndObject();
    return json_response(200, out);
}

Response uuid(Request& request) {
    if (HttpResult<> none = no_query(request); !none.is_ok())
        return none.error();
    rapidjson::StringBuffer out;
    JsonWriter w(out);
    w.StartObject();
    w.Key("uuid");
    write_string(w, new_uuid(4));
    w.EndObject();
    return json_response(200, out);
}

Response queued(ApiContext& ctx, const NewDelivery& delivery) {
    HttpResult<int64_t> id = queue_delivery(ctx, delivery);
    if (!id.is_ok())
        return id.error();
    return success(
        {{"message", "queued"}, {"status_url", "/api/v1/deliveries/" + std::to_string(id.value())}},
        {{"id", id.value()}});
}

// GET /email/to/{to}/subject/{subject}/message/{message}
Response email(ApiContext& ctx, Request& request) {
    if (HttpResult<> none = no_query(request); !none.is_ok())
        return none.error();
    if (HttpResult<> configured = check_email_configured(ctx.config); !configured.is_ok())
        return configured.error();
    std::vector<std::string> to;
    const std::string& list = request.path_params[0];
    for (size_t start = 0; start <= list.size();) {
        size_t comma = list.find(',', start);
        if (comma == std::string::npos)
            comma = list.size();
        to.push_back(list.substr(start, comma - start));
        start = comma + 1;
    }
    for (const std::string& address : to) {
        if (Status valid = validate_email_address(address); !valid.is_ok())
            return problem(400, "to: " + valid.message());
    }
    const std::string& subject = request.path_params[1];
    const std::string& text = request.path_params[2];
    if (!is_valid_utf8(subject) || !is_valid_utf8(text) ||
        subject.find_first_of(std::string("\r\n\0", 3)) != std::string::npos ||
        text.find('\0') != std::string::npos)
        return problem(400, "subject (one line) and message must be UTF-8 text");
    return queued(ctx, email_delivery(to, subject, text, ctx.config.delivery_max_attempts));
}

// GET /sms/to/{to}/message/{message}
Response sms(ApiContext& ctx, Request& request) {
    if (HttpResult<> none = no_query(request); !none.is_ok())
        return none.error();
    if (HttpResult<> configured = check_sms_configured(ctx.config); !configured.is_ok())
        return configured.error();
    if (Status valid = validate_phone(request.path_params[0]); !valid.is_ok())
        return problem(400, "to: " + valid.message());
    const std::string& text = request.path_params[1];
    if (!is_valid_utf8(text) || text.find('\0') != std::string::npos || text.size() > 1600)
        return problem(400, "message must be UTF-8 text of at most 1600 bytes");
    return queued(ctx,
                  sms_delivery(request.path_params[0], text, ctx.config.delivery_max_attempts));
}

// POST /rules/add/{ruleName} with form fields topicPattern, payloadPattern (SQL LIKE),
// method and webHook. The rule starts disabled, as in the book; its webhook sends the
// book's body.
Response add_rule(ApiContext& ctx, Request& request, const Principal& principal) {
    if (HttpResult<> none = no_query(request); !none.is_ok())
        return none.error();
    if (!request.content_type.empty() &&
        request.content_type.rfind("application/x-www-form-urlencoded", 0) != 0)
        return problem(415, "send the fields as application/x-www-form-urlencoded");
    HttpResult<ParamReader> parsed = read_params(request.body);
    if (!parsed.is_ok())
        return parsed.error();
    ParamReader& form = parsed.value();
    const std::optional<std::string> topic = form.text("topicPattern");
    const std::optional<std::string> payload = form.text("payloadPattern");
    const std::optional<std::string> method = form.text("method");
    const std::optional<std::string> hook = form.text("webHook");
    if (!topic || !method || !hook)
        form.fail("the fields topicPattern, method and webHook are required");
    if (HttpResult<> done = finish_params(form); !done.is_ok())
        return done.error();
    if (!principal.may_touch_filter("#"))
        return problem(403, "rules from topic patterns need a token for every topic ('#')");
    std::string upper = *method;
    for (char& c : upper)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    rapidjson::Document d;
    d.SetObject();
    auto& alloc = d.GetAllocator();
    auto text = [&](const std::string& s) {
        return rapidjson::Value(s.c_str(), static_cast<rapidjson::SizeType>(s.size()), alloc);
    };
    d.AddMember("name", text(request.path_params[0]), alloc);
    d.AddMember("enabled", false, alloc);
    d.AddMember("topic_filter", "#", alloc);
    d.AddMember("topic_like", text(*topic), alloc);
    if (payload && *payload != "%")
        d.AddMember("like", text(*payload), alloc);
    rapidjson::Value action(rapidjson::kObjectType);
    action.AddMember("type", "webhook", alloc);
    action.AddMember("method", text(upper), alloc);
    action.AddMember("url", text(*hook), alloc);
    action.AddMember("format", "book", alloc);
    rapidjson::Value actions(rapidjson::kArrayType);
    actions.PushBack(action, alloc);
    d.AddMember("actions", actions, alloc);
    HttpResult<Rule> rule = parse_api_rule(ctx, d);
    if (!rule.is_ok())
        return rule.error();
    HttpResult<PgPool::Lease> lease = lease_connection(ctx);
    if (!lease.is_ok())
        return lease.error();
    HttpResult<RuleRow> created = insert_new_rule(ctx, lease.value(), rule.value());
    if (!created.is_ok())
        return created.error();
    return success({{"message", "rule added, disabled"}}, {{"id", created.value().id}});
}

// GET /rules/enable|disable|delete/{id}, /rules/enableAll, /rules/disableAll.
Response change_rule(ApiContext& ctx, Request& request, const Principal& principal, RuleChange what,
                     bool all) {
    if (HttpResult<> none = no_query(request); !none.is_ok())
        return none.error();
    std::optional<int64_t> id;
    if (!all) {
        HttpResult<int64_t> in_path = id_in_path(request.path_params[0], "rule");
        if (!in_path.is_ok())
            return in_path.error();
        id = in_path.value();
    }
    HttpResult<int64_t> changed = change_rules(ctx, principal, id, what);
    if (!changed.is_ok())
        return changed.error();
    return success({}, {{"changed", changed.value()}});
}

}  // namespace

void add_book_routes(Router& router, ApiContext& ctx) {
    auto add = [&router](const char* method, const char* pattern, Scope scope, Handler handler) {
        router.add({method, pattern, scope, std::move(handler)});
    };
    add("POST", "/pub/{topic}/{payload}", Scope::kWrite,
        [&ctx](Request& r, const Principal& p) { return pub(ctx, r, p); });
    add("GET", "/get/{topic}", Scope::kRead,
        [&ctx](Request& r, const Principal& p) { return get_latest(ctx, r, p, false); });
    add("GET", "/get/{topic}/last/{count}", Scope::kRead,
        [&ctx](Request& r, const Principal& p) { return get_latest(ctx, r, p, true); });
    add("GET", "/get/topicLike/{topic}/payloadLike/{payload}/last/{count}", Scope::kRead,
        [&ctx](Request& r, const Principal& p) { return get_like(ctx, r, p); });
    add("GET", "/get/{topic}/after/{time}/last/{count}", Scope::kRead,
        [&ctx](Request& r, const Principal& p) { return get_window(ctx, r, p, Window::kAfter); });
    add("GET", "/get/{topic}/before/{time}/last/{count}", Scope::kRead,
        [&ctx](Request& r, const Principal& p) { return get_window(ctx, r, p, Window::kBefore); });
    add("GET", "/get/{topic}/during/{start}/{end}/last/{count}", Scope::kRead,
        [&ctx](Request& r, const Principal& p) { return get_window(ctx, r, p, Window::kDuring); });
    const std::pair<const char*, bool> changes[] = {{"delete", false}, {"purge", true}};
    for (const auto& [verb, purging] : changes) {
        const std::string base = std::string("/") + verb + "/{topic}";
        const char* method = purging ? "DELETE" : "GET";
        const bool p = purging;
        router.add({method, base, Scope::kWrite, [&ctx, p](Request& r, const Principal& who) {
                        return change(ctx, r, who, p, Which::kAll);
                    }});
        router.add(
            {method, base + "/id/{id}", Scope::kWrite, [&ctx, p](Request& r, const Principal& who) {
                 return change(ctx, r, who, p, Which::kId);
             }});
        router.add({method, base + "/first/{count}", Scope::kWrite,
                    [&ctx, p](Request& r, const Principal& who) {
                        return change(ctx, r, who, p, Which::kFirst);
                    }});
        router.add({method, base + "/last/{count}", Scope::kWrite,
                    [&ctx, p](Request& r, const Principal& who) {
                        return change(ctx, r, who, p, Which::kLast);
                    }});
    }
    add("GET", "/timestamp", Scope::kRead,
        [](Request& r, const Principal&) { return timestamp(r); });
    add("GET", "/randomcode/{length}", Scope::kRead,
        [](Request& r, const Principal&) { return random_code(r); });
    add("GET", "/uuid", Scope::kRead, [](Request& r, const Principal&) { return uuid(r); });
    add("GET", "/email/to/{to}/subject/{subject}/message/{message}", Scope::kWrite,
        [&ctx](Request& r, const Principal&) { return email(ctx, r); });
    add("GET", "/sms/to/{to}/message/{message}", Scope::kWrite,
        [&ctx](Request& r, const Principal&) { return sms(ctx, r); });
    add("POST", "/rules/add/{ruleName}", Scope::kWrite,
        [&ctx](Request& r, const Principal& p) { return add_rule(ctx, r, p); });
    add("GET", "/rules/enable/{id}", Scope::kWrite, [&ctx](Request& r, const Principal& p) {
        return change_rule(ctx, r, p, RuleChange::kEnable, false);
    });
    add("GET", "/rules/disable/{id}", Scope::kWrite, [&ctx](Request& r, const Principal& p) {
        return change_rule(ctx, r, p, RuleChange::kDisable, false);
    });
    add("GET", "/rules/delete/{id}", Scope::kWrite, [&ctx](Request& r, const Principal& p) {
        return change_rule(ctx, r, p, RuleChange::kDelete, false);
    });
    add("GET", "/rules/enableAll", Scope::kWrite, [&ctx](Request& r, const Principal& p) {
        return change_rule(ctx, r, p, RuleChange::kEnable, true);
    });
    add("GET", "/rules/disableAll", Scope::kWrite, [&ctx](Request& r, const Principal& p) {
        return change_rule(ctx, r, p, RuleChange::kDisable, true);
    });
}

}  // namespace culex
