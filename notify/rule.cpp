#include "rule.h"

#include <curl/curl.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <set>

#include "common/json_condition.h"
#include "common/topic_filter.h"
#include "recipients.h"

namespace culex {
namespace {

constexpr size_t kMaxNameLength = 200;
constexpr size_t kMaxActions = 10;
constexpr size_t kMaxHeaders = 20;
constexpr size_t kMaxRecipients = 50;
constexpr size_t kMaxTemplate = size_t{64} * 1024;
constexpr size_t kMaxConditions = 16;

std::string text_of(const rapidjson::Value& v) {
    return std::string(v.GetString(), v.GetStringLength());
}

std::string to_json(const rapidjson::Value& v) {
    rapidjson::StringBuffer out;
    rapidjson::Writer<rapidjson::StringBuffer> w(out);
    v.Accept(w);
    return std::string(out.GetString(), out.GetSize());
}

Status field_error(const std::string& where, const std::string& what) {
    return Status::error("field '" + where + "' " + what);
}

// A string member of 1..max bytes, or an error naming it.
Status string_member(const rapidjson::Value& o, const char* key, const std::string& where,
                     size_t max, std::optional<std::string>& out, bool required) {
    auto it = o.FindMember(key);
    if (it == o.MemberEnd()) {
        if (required)
            return field_error(where + key, "is required");
        return Status::ok();
    }
    if (!it->value.IsString() || it->value.GetStringLength() == 0 ||
        it->value.GetStringLength() > max)
        return field_error(where + key,
                           "must be a string of 1 to " + std::to_string(max) + " bytes");
    out = text_of(it->value);
    if (out->find('\0') != std::string::npos)
        return field_error(where + key, "cannot contain NUL");
    return Status::ok();
}

Status template_member(const rapidjson::Value& o, const char* key, const std::string& where,
                       std::optional<MessageTemplate>& out, bool required) {
    std::optional<std::string> text;
    if (Status s = string_member(o, key, where, kMaxTemplate, text, required); !s.is_ok())
        return s;
    if (!text)
        return Status::ok();
    Result<MessageTemplate> t = MessageTemplate::parse(*text);
    if (!t.is_ok())
        return field_error(where + key, t.status().message());
    out = std::move(t.value());
    return Status::ok();
}

Status only_fields(const rapidjson::Value& o, const std::string& where,
                   std::initializer_list<std::string_view> fields) {
    for (auto it = o.MemberBegin(); it != o.MemberEnd(); ++it) {
        const std::string_view name(it->name.GetString(), it->name.GetStringLength());
        if (std::find(fields.begin(), fields.end(), name) == fields.end())
            return Status::error("unknown field '" + where + std::string(name) + "'");
    }
    return Status::ok();
}

bool header_name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

Status parse_webhook(const rapidjson::Value& o, const std::string& where,
                     const TargetPolicy* policy, RuleAction& a) {
    if (Status s = only_fields(o, where, {"type", "url", "method", "headers", "format"});
        !s.is_ok())
        return s;
    auto format = o.FindMember("format");
    if (format != o.MemberEnd()) {
        if (!format->value.IsString() || (std::string_view(format->value.GetString()) != "culex" &&
                                          std::string_view(format->value.GetString()) != "book"))
            return field_error(where + "format", "must be culex or book");
        a.book_format = std::string_view(format->value.GetString()) == "book";
    }
    std::optional<std::string> url;
    if (Status s = string_member(o, "url", where, 2048, url, true); !s.is_ok())
        return s;
    a.url = *url;
    std::string host;
    Result<std::string> target = webhook_target(a.url, &host);
    if (!target.is_ok())
        return field_error(where + "url", target.status().message());
    a.target = target.value();
    if (policy != nullptr && policy->check_host(host) == TargetPolicy::Verdict::kDeny)
        return field_error(where + "url",
                           "aims at '" + host +
                               "', which the admin does not allow (delivery_allow, delivery_deny)");
    std::optional<std::string> method;
    if (Status s = string_member(o, "method", where, 10, method, false); !s.is_ok())
        return s;
    if (method) {
        static const std::set<std::string> kMethods = {"POST", "PUT", "PATCH", "GET", "DELETE"};
        if (kMethods.count(*method) == 0)
            return field_error(where + "method", "must be POST, PUT, PATCH, GET or DELETE");
        a.method = *method;
    }
    auto headers = o.FindMember("headers");
    if (headers != o.MemberEnd()) {
        if (!headers->value.IsObject() || headers->value.MemberCount() > kMaxHeaders)
            return field_error(where + "headers", "must be an object of at most 20 string values");
        for (auto h = headers->value.MemberBegin(); h != headers->value.MemberEnd(); ++h) {
            const std::string name = text_of(h->name);
            std::string lower = name;
            std::transform(lower.begin(), lower.end(), lower.begin(),
                           [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
            if (name.empty() || name.size() > 100 ||
                !std::all_of(name.begin(), name.end(), header_name_char))
                return field_error(where + "headers", "has a bad header name '" + name + "'");
            if (lower == "host" || lower == "content-length" || lower == "transfer-encoding" ||
                lower == "connection" || lower.rfind("culex-", 0) == 0)
                return field_error(where + "headers", "cannot set '" + name + "'");
            if (!h->value.IsString() || h->value.GetStringLength() > 4096)
                return field_error(where + "headers." + name,
                                   "must be a string of at most 4096 bytes");
            const std::string value = text_of(h->value);
            if (std::any_of(value.begin(), value.end(),
                            [](unsigned char c) { return c < ' ' && c != '\t'; }))
                return field_error(where + "headers." + name, "cannot contain control characters");
            a.headers.emplace_back(name, value);
        }
    }
    return Status::ok();
}

Status parse_republish(const rapidjson::Value& o, const std::string& where, RuleAction& a) {
    if (Status s = only_fields(o, where, {"type", "topic", "payload", "qos", "retain"}); !s.is_ok())
        return s;
    if (Status s = template_member(o, "topic", where, a.topic, true); !s.is_ok())
        return s;
    if (a.topic->text().find_first_of("+#") != std::string::npos)
        return field_error(where + "topic", "cannot hold wildcards");
    if (Status s = template_member(o, "payload", where, a.payload, false); !s.is_ok())
        return s;
    if (!a.payload)
        a.payload = MessageTemplate::parse("{{payload}}").value();
    auto qos = o.FindMember("qos");
    if (qos != o.MemberEnd()) {
        if (!qos->value.IsInt() || qos->value.GetInt() < 0 || qos->value.GetInt() > 2)
            return field_error(where + "qos", "must be 0, 1 or 2");
        a.qos = qos->value.GetInt();
    }
    auto retain = o.FindMember("retain");
    if (retain != o.MemberEnd()) {
        if (!retain->value.IsBool())
            return field_error(where + "retain", "must be true or false");
        a.retain = retain->value.GetBool();
    }
    return Status::ok();
}

Status parse_recipients(const rapidjson::Value& o, const std::string& where, bool email,
                        RuleAction& a) {
    auto to = o.FindMember("to");
    if (to == o.MemberEnd())
        return field_error(where + "to", "is required");
    if (to->value.IsString()) {
        a.to.push_back(text_of(to->value));
    } else if (to->value.IsArray() && !to->value.Empty() && to->value.Size() <= kMaxRecipients) {
        for (const auto& r : to->value.GetArray()) {
            if (!r.IsString())
                return field_error(where + "to", "must hold strings only");
            a.to.push_back(text_of(r));
        }
    } else {
        return field_error(where + "to", "must be a string or a list of 1 to 50 strings");
    }
    for (const std::string& r : a.to) {
        Status valid = email ? validate_email_address(r) : validate_phone(r);
        if (!valid.is_ok())
            return field_error(where + "to", valid.message());
    }
    return Status::ok();
}

Result<RuleAction> parse_action(const rapidjson::Value& o, size_t index,
                                const TargetPolicy* policy) {
    const std::string where = "actions[" + std::to_string(index) + "].";
    if (!o.IsObject())
        return Status::error("field 'actions[" + std::to_string(index) + "]' must be an object");
    auto type = o.FindMember("type");
    if (type == o.MemberEnd() || !type->value.IsString())
        return field_error(where + "type", "is required: webhook, republish, email or sms");
    const std::string kind = text_of(type->value);
    RuleAction a;
    Status s = Status::ok();
    if (kind == "webhook") {
        a.kind = DeliveryKind::kWebhook;
        s = parse_webhook(o, where, policy, a);
    } else if (kind == "republish") {
        a.kind = DeliveryKind::kRepublish;
        s = parse_republish(o, where, a);
    } else if (kind == "email") {
        a.kind = DeliveryKind::kEmail;
        s = only_fields(o, where, {"type", "to", "subject", "text"});
        if (s.is_ok())
            s = parse_recipients(o, where, true, a);
        if (s.is_ok())
            s = template_member(o, "subject", where, a.subject, true);
        if (s.is_ok() && a.subject->text().find_first_of("\r\n") != std::string::npos)
            s = field_error(where + "subject", "must be one line");
        if (s.is_ok())
            s = template_member(o, "text", where, a.text, true);
    } else if (kind == "sms") {
        a.kind = DeliveryKind::kSms;
        s = only_fields(o, where, {"type", "to", "text"});
        if (s.is_ok())
            s = parse_recipients(o, where, false, a);
        if (s.is_ok())
            s = template_member(o, "text", where, a.text, true);
    } else {
        return field_error(where + "type",
                           "must be webhook, republish, email or sms, not '" + kind + "'");
    }
    if (!s.is_ok())
        return s;
    return a;
}

// name, topic_filter, enabled and secret.
Status parse_rule_fields(const rapidjson::Value& d, Rule& r) {
    std::optional<std::string> text;
    if (Status s = string_member(d, "name", "", kMaxNameLength, text, true); !s.is_ok())
        return s;
    r.name = *text;
    text.reset();
    if (Status s = string_member(d, "topic_filter", "", 65535, text, true); !s.is_ok())
        return s;
    r.topic_filter = *text;
    if (Status valid = validate_topic_filter(r.topic_filter); !valid.is_ok())
        return field_error("topic_filter", valid.message());
    auto enabled = d.FindMember("enabled");
    if (enabled != d.MemberEnd()) {
        if (!enabled->value.IsBool())
            return field_error("enabled", "must be true or false");
        r.enabled = enabled->value.GetBool();
    }
    return string_member(d, "secret", "", 1024, r.secret, false);
}

// The `where` conditions: one or a list of them, each also kept as written in `list`.
Status parse_where(const rapidjson::Value& where, rapidjson::Value& list,
                   rapidjson::Document::AllocatorType& alloc, std::vector<JsonCondition>& json) {
    auto add = [&](const rapidjson::Value& item) -> Status {
        if (!item.IsString())
            return field_error("where", "must be a condition or a list of conditions");
        Result<JsonCondition> c = parse_json_condition(text_of(item));
        if (!c.is_ok())
            return field_error("where", c.status().message());
        json.push_back(std::move(c.value()));
        list.PushBack(rapidjson::Value(item, alloc), alloc);
        return Status::ok();
    };
    if (!where.IsArray())
        return add(where);
    if (where.Size() > kMaxConditions)
        return field_error("where", "holds at most 16 conditions");
    for (const auto& item : where.GetArray()) {
        if (Status s = add(item); !s.is_ok())
            return s;
    }
    return Status::ok();
}

// where, contains, like and topic_like, into the condition and its stored JSON.
Status parse_condition(const rapidjson::Value& d, Rule& r) {
    rapidjson::Document condition;
    condition.SetObject();
    auto& alloc = condition.GetAllocator();
    auto text_value = [&alloc](const std::string& text) {
        return rapidjson::Value(text.c_str(), static_cast<rapidjson::SizeType>(text.size()), alloc);
    };
    std::vector<JsonCondition> json;
    auto where = d.FindMember("where");
    if (where != d.MemberEnd()) {
        rapidjson::Value list(rapidjson::kArrayType);
        if (Status s = parse_where(where->value, list, alloc, json); !s.is_ok())
            return s;
        condition.AddMember("where", list, alloc);
    }
    std::optional<std::string> contains;
    std::optional<std::string> like;
    if (Status s = string_member(d, "contains", "", 4096, contains, false); !s.is_ok())
        return s;
    if (Status s = string_member(d, "like", "", 4096, like, false); !s.is_ok())
        return s;
    if (like) {
        if (Status valid = validate_like_pattern(*like); !valid.is_ok())
            return field_error("like", valid.message());
    }
    std::optional<std::string> topic_like;
    if (Status s = string_member(d, "topic_like", "", 65535, topic_like, false); !s.is_ok())
        return s;
    if (topic_like) {
        if (Status valid = validate_like_pattern(*topic_like); !valid.is_ok())
            return field_error("topic_like", valid.message());
        r.topic_like = topic_like;
        condition.AddMember("topic_like", text_value(*topic_like), alloc);
    }
    if (contains)
        condition.AddMember("contains", text_value(*contains), alloc);
    if (like)
        condition.AddMember("like", text_value(*like), alloc);
    r.condition = PayloadCondition(std::move(json), std::move(contains), std::move(like));
    r.condition_json = to_json(condition);
    return Status::ok();
}

// The actions list, into the rule's actions and their stored JSON.
Status parse_actions(const rapidjson::Value& d, const TargetPolicy* policy, Rule& r) {
    auto actions = d.FindMember("actions");
    if (actions == d.MemberEnd() || !actions->value.IsArray() || actions->value.Empty() ||
        actions->value.Size() > kMaxActions)
        return field_error("actions", "must be a list of 1 to 10 actions");
    size_t index = 0;
    for (const auto& item : actions->value.GetArray()) {
        Result<RuleAction> a = parse_action(item, index++, policy);
        if (!a.is_ok())
            return a.status();
        r.actions.push_back(std::move(a.value()));
    }
    r.actions_json = to_json(actions->value);
    return Status::ok();
}

}  // namespace

Result<Rule> parse_rule(const rapidjson::Value& d, const TargetPolicy* policy) {
    if (!d.IsObject())
        return Status::error("a rule is a JSON object");
    for (auto it = d.MemberBegin(); it != d.MemberEnd(); ++it) {
        const std::string_view name(it->name.GetString(), it->name.GetStringLength());
        if (std::find(std::begin(kRuleFields), std::end(kRuleFields), name) ==
            std::end(kRuleFields))
            return Status::error("unknown field '" + std::string(name) + "'");
    }
    Rule r;
    if (Status s = parse_rule_fields(d, r); !s.is_ok())
        return s;
    if (Status s = parse_condition(d, r); !s.is_ok())
        return s;
    if (Status s = parse_actions(d, policy, r); !s.is_ok())
        return s;
    return r;
}

RuleRow to_row(const Rule& rule) {
    RuleRow row;
    row.id = rule.id;
    row.name = rule.name;
    row.enabled = rule.enabled;
    row.topic_filter = rule.topic_filter;
    row.condition_json = rule.condition_json;
    row.actions_json = rule.actions_json;
    row.secret = rule.secret;
    return row;
}

Result<Rule> rule_from_stored(int64_t id, const std::string& name, bool enabled,
                              const std::string& topic_filter, const std::string& condition_json,
                              const std::string& actions_json,
                              const std::optional<std::string>& secret) {
    rapidjson::Document d;
    d.Parse(condition_json.data(), condition_json.size());
    if (d.HasParseError() || !d.IsObject())
        return Status::error("its condition is not a JSON object");
    auto& alloc = d.GetAllocator();
    rapidjson::Document actions(&alloc);
    actions.Parse(actions_json.data(), actions_json.size());
    if (actions.HasParseError())
        return Status::error("its actions are not JSON");
    d.AddMember(
        "name",
        rapidjson::Value(name.c_str(), static_cast<rapidjson::SizeType>(name.size()), alloc),
        alloc);
    d.AddMember("enabled", enabled, alloc);
    d.AddMember("topic_filter",
                rapidjson::Value(topic_filter.c_str(),
                                 static_cast<rapidjson::SizeType>(topic_filter.size()), alloc),
                alloc);
    d.AddMember("actions", rapidjson::Value(actions, alloc), alloc);
    if (secret)
        d.AddMember("secret",
                    rapidjson::Value(secret->c_str(),
                                     static_cast<rapidjson::SizeType>(secret->size()), alloc),
                    alloc);
    Result<Rule> r = parse_rule(d, nullptr);
    if (r.is_ok())
        r.value().id = id;
    return r;
}

}  // namespace culex
