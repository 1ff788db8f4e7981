#include "message_template.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "common/base64.h"
#include "common/json_condition.h"
#include "common/time_text.h"
#include "common/utf8.h"

namespace culex {
namespace {

std::string as_text(std::string_view bytes) {
    return is_valid_utf8(bytes) ? std::string(bytes) : base64_encode(bytes);
}

// A JSON field of the payload as text: strings without quotes, other values as JSON;
// empty when the payload is not JSON or has no such field.
std::string payload_field(std::string_view payload, const std::vector<std::string>& path) {
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag>(
        payload.data(), payload.size());
    if (doc.HasParseError())
        return "";
    const rapidjson::Value* v = &doc;
    for (const std::string& key : path) {
        if (v->IsObject()) {
            auto it = v->FindMember(rapidjson::Value(rapidjson::StringRef(key.data(), key.size())));
            if (it == v->MemberEnd())
                return "";
            v = &it->value;
        } else if (v->IsArray() && !key.empty() &&
                   key.find_first_not_of("0123456789") == std::string::npos && key.size() < 10 &&
                   std::stoul(key) < v->Size()) {
            v = &(*v)[static_cast<rapidjson::SizeType>(std::stoul(key))];
        } else {
            return "";
        }
    }
    if (v->IsString())
        return std::string(v->GetString(), v->GetStringLength());
    rapidjson::StringBuffer out;
    rapidjson::Writer<rapidjson::StringBuffer> w(out);
    v->Accept(w);
    return std::string(out.GetString(), out.GetSize());
}

}  // namespace

Result<MessageTemplate> MessageTemplate::parse(std::string_view text) {
    MessageTemplate t;
    t.text_ = std::string(text);
    size_t at = 0;
    while (at < text.size()) {
        const size_t open = text.find("{{", at);
        if (open == std::string_view::npos) {
            t.parts_.push_back({Field::kLiteral, std::string(text.substr(at)), {}});
            break;
        }
        if (open > at)
            t.parts_.push_back({Field::kLiteral, std::string(text.substr(at, open - at)), {}});
        const size_t close = text.find("}}", open + 2);
        if (close == std::string_view::npos)
            return Status::error("a '{{' has no matching '}}'");
        const std::string_view name = text.substr(open + 2, close - open - 2);
        Part part;
        if (name == "topic") {
            part.field = Field::kTopic;
        } else if (name == "payload") {
            part.field = Field::kPayload;
        } else if (name.substr(0, 8) == "payload.") {
            Result<std::vector<std::string>> path = parse_json_path(name.substr(8));
            if (!path.is_ok())
                return Status::error("placeholder {{" + std::string(name) +
                                     "}}: " + path.status().message());
            part.field = Field::kPayloadField;
            part.path = std::move(path.value());
        } else if (name == "qos") {
            part.field = Field::kQos;
        } else if (name == "retain") {
            part.field = Field::kRetain;
        } else if (name == "client_id") {
            part.field = Field::kClientId;
        } else if (name == "id") {
            part.field = Field::kId;
        } else if (name == "time") {
            part.field = Field::kTime;
        } else if (name == "time_ms") {
            part.field = Field::kTimeMs;
        } else if (name == "rule") {
            part.field = Field::kRule;
        } else {
            return Status::error("unknown placeholder {{" + std::string(name) +
                                 "}}: use topic, payload, payload.<field>, qos, retain, "
                                 "client_id, id, time, time_ms or rule");
        }
        t.parts_.push_back(std::move(part));
        at = close + 2;
    }
    return t;
}

std::string MessageTemplate::render(const StoredMessage& m, std::string_view rule_name,
                                    bool raw_payload) const {
    std::string out;
    for (const Part& p : parts_) {
        switch (p.field) {
            case Field::kLiteral:
                out += p.literal;
                break;
            case Field::kTopic:
                out += m.topic;
                break;
            case Field::kPayload:
                out += raw_payload ? m.payload : as_text(m.payload);
                break;
            case Field::kPayloadField:
                out += payload_field(m.payload, p.path);
                break;
            case Field::kQos:
                out += std::to_string(m.qos);
                break;
            case Field::kRetain:
                out += m.retain ? "true" : "false";
                break;
            case Field::kClientId:
                out += as_text(m.client_id);
                break;
            case Field::kId:
                out += m.id > 0 ? std::to_string(m.id) : "";
                break;
            case Field::kTime:
                out += format_rfc3339_us(m.received_us);
                break;
            case Field::kTimeMs:
                out += std::to_string(m.received_us / 1000);
                break;
            case Field::kRule:
                out += rule_name;
                break;
        }
    }
    return out;
}

}  // namespace culex
