#include "delivery_request.h"

#include "common/base64.h"
#include "common/book_record.h"
#include "common/message_json.h"

namespace culex {
namespace {

std::string finish(const rapidjson::StringBuffer& out) {
    return std::string(out.GetString(), out.GetSize());
}

// Ties a delivery to the rule and the stored message it came from.
void link(NewDelivery& d, const Rule& rule, const StoredMessage& m) {
    d.rule_id = rule.id;
    d.rule_name = rule.name;
    if (m.id > 0)
        d.message_id = m.id;
}

NewDelivery base(DeliveryKind kind, std::string target, int max_attempts) {
    NewDelivery d;
    d.kind = kind;
    d.target = std::move(target);
    d.max_attempts = max_attempts;
    return d;
}

}  // namespace

std::string book_webhook_body(const Rule& rule, const RuleAction& action, const StoredMessage& m) {
    rapidjson::StringBuffer out;
    JsonWriter w(out);
    w.StartArray();
    w.StartObject();
    w.Key("id");
    w.Int64(rule.id);
    w.Key("ruleName");
    write_string(w, rule.name);
    w.Key("topicPattern");
    write_string(w, rule.topic_like.value_or(rule.topic_filter));
    w.Key("payloadPattern");
    write_string(w, rule.condition.like().value_or("%"));
    w.Key("method");
    write_string(w, action.method);
    w.Key("webHook");
    write_string(w, action.url);
    w.Key("status");
    w.Int(rule.enabled ? 1 : 0);
    w.Key("message");
    write_book_record(w, m);
    w.EndObject();
    w.EndArray();
    return finish(out);
}

std::string webhook_body(const Rule& rule, const StoredMessage& m) {
    rapidjson::StringBuffer out;
    JsonWriter w(out);
    w.StartObject();
    w.Key("rule");
    w.StartObject();
    w.Key("id");
    w.Int64(rule.id);
    w.Key("name");
    write_string(w, rule.name);
    w.EndObject();
    w.Key("message");
    write_message(w, m, m.id > 0);
    w.EndObject();
    return finish(out);
}

std::vector<NewDelivery> deliveries_for(const Rule& rule, const StoredMessage& m,
                                        int max_attempts) {
    std::vector<NewDelivery> out;
    for (const RuleAction& a : rule.actions) {
        rapidjson::StringBuffer buf;
        JsonWriter w(buf);
        switch (a.kind) {
            case DeliveryKind::kWebhook: {
                NewDelivery d = base(DeliveryKind::kWebhook, a.target, max_attempts);
                link(d, rule, m);
                w.StartObject();
                w.Key("method");
                write_string(w, a.method);
                w.Key("url");
                write_string(w, a.url);
                w.Key("headers");
                w.StartObject();
                for (const auto& [name, value] : a.headers) {
                    w.Key(name.c_str(), static_cast<rapidjson::SizeType>(name.size()));
                    write_string(w, value);
                }
                w.EndObject();
                w.Key("body");
                write_string(w,
                             a.book_format ? book_webhook_body(rule, a, m) : webhook_body(rule, m));
                if (rule.secret) {
                    w.Key("secret");
                    write_string(w, *rule.secret);
                }
                w.EndObject();
                d.request_json = finish(buf);
                out.push_back(std::move(d));
                break;
            }
            case DeliveryKind::kRepublish: {
                NewDelivery d = base(DeliveryKind::kRepublish, "broker", max_attempts);
                link(d, rule, m);
                w.StartObject();
                w.Key("topic");
                write_string(w, a.topic->render(m, rule.name, false));
                w.Key("payload_base64");
                write_string(w, base64_encode(a.payload->render(m, rule.name, true)));
                w.Key("qos");
                w.Int(a.qos);
                w.Key("retain");
                w.Bool(a.retain);
                w.EndObject();
                d.request_json = finish(buf);
                out.push_back(std::move(d));
                break;
            }
            case DeliveryKind::kEmail:
                out.push_back(email_delivery(a.to, a.subject->render(m, rule.name, false),
                                             a.text->render(m, rule.name, false), max_attempts));
                link(out.back(), rule, m);
                break;
            case DeliveryKind::kSms:
                for (const std::string& to : a.to) {
                    out.push_back(
                        sms_delivery(to, a.text->render(m, rule.name, false), max_attempts));
                    link(out.back(), rule, m);
                }
                break;
        }
    }
    return out;
}

NewDelivery email_delivery(const std::vector<std::string>& to, const std::string& subject,
                           const std::string& text, int max_attempts) {
    NewDelivery d = base(DeliveryKind::kEmail, "smtp", max_attempts);
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    w.Key("to");
    w.StartArray();
    for (const std::string& r : to)
        write_string(w, r);
    w.EndArray();
    w.Key("subject");
    write_string(w, subject);
    w.Key("text");
    write_string(w, text);
    w.EndObject();
    d.request_json = finish(buf);
    return d;
}

NewDelivery sms_delivery(const std::string& to, const std::string& text, int max_attempts) {
    NewDelivery d = base(DeliveryKind::kSms, "sms", max_attempts);
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    w.Key("to");
    write_string(w, to);
    w.Key("text");
    write_string(w, text);
    w.EndObject();
    d.request_json = finish(buf);
    return d;
}

}  // namespace culex
