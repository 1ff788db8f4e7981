#include "payload_condition.h"

#include <cerrno>
#include <cstdlib>

namespace culex {
namespace {

const rapidjson::Value* find_field(const rapidjson::Value& root,
                                   const std::vector<std::string>& path) {
    const rapidjson::Value* v = &root;
    for (const std::string& key : path) {
        if (v->IsObject()) {
            auto it = v->FindMember(rapidjson::Value(rapidjson::StringRef(key.data(), key.size())));
            if (it == v->MemberEnd())
                return nullptr;
            v = &it->value;
        } else if (v->IsArray()) {
            // As PostgreSQL's #>: an integer indexes the array, a negative one from its end.
            errno = 0;
            char* end = nullptr;
            const long long index = std::strtoll(key.c_str(), &end, 10);
            if (errno != 0 || end != key.c_str() + key.size() || key.empty())
                return nullptr;
            const auto size = static_cast<long long>(v->Size());
            const long long at = index < 0 ? size + index : index;
            if (at < 0 || at >= size)
                return nullptr;
            v = &(*v)[static_cast<rapidjson::SizeType>(at)];
        } else {
            return nullptr;
        }
    }
    return v;
}

// <0, 0, >0 like strcmp, for two JSON numbers.
int compare_numbers(const rapidjson::Value& a, const rapidjson::Value& b) {
    if (a.IsInt64() && b.IsInt64())
        return a.GetInt64() < b.GetInt64() ? -1 : (a.GetInt64() > b.GetInt64() ? 1 : 0);
    if (a.IsUint64() && b.IsUint64())
        return a.GetUint64() < b.GetUint64() ? -1 : (a.GetUint64() > b.GetUint64() ? 1 : 0);
    const double x = a.GetDouble();
    const double y = b.GetDouble();
    return x < y ? -1 : (x > y ? 1 : 0);
}

int compare_strings(const rapidjson::Value& a, const rapidjson::Value& b) {
    return std::string_view(a.GetString(), a.GetStringLength())
        .compare(std::string_view(b.GetString(), b.GetStringLength()));
}

bool scalars_equal(const rapidjson::Value& field, const rapidjson::Value& value) {
    if (field.IsNumber() && value.IsNumber())
        return compare_numbers(field, value) == 0;
    if (field.IsString() && value.IsString())
        return compare_strings(field, value) == 0;
    if (field.IsBool() && value.IsBool())
        return field.GetBool() == value.GetBool();
    return field.IsNull() && value.IsNull();
}

bool holds(const JsonCondition& c, const rapidjson::Value& value, const rapidjson::Value* field) {
    if (field == nullptr)
        return false;
    int order = 0;
    switch (c.op) {
        case JsonOp::kExists:
            return true;
        case JsonOp::kEq:
            return scalars_equal(*field, value);
        case JsonOp::kNe:
            return !scalars_equal(*field, value);
        default:
            break;
    }
    if (value.IsNumber() && field->IsNumber())
        order = compare_numbers(*field, value);
    else if (value.IsString() && field->IsString())
        order = compare_strings(*field, value);
    else
        return false;
    switch (c.op) {
        case JsonOp::kLt:
            return order < 0;
        case JsonOp::kLe:
            return order <= 0;
        case JsonOp::kGt:
            return order > 0;
        case JsonOp::kGe:
            return order >= 0;
        default:
            return false;
    }
}

}  // namespace

bool like_matches(std::string_view pattern, std::string_view text) {
    // `%text%`, the commonest pattern, is a substring search.
    if (pattern.size() >= 2 && pattern.front() == '%' && pattern.back() == '%') {
        const std::string_view inner = pattern.substr(1, pattern.size() - 2);
        if (inner.find_first_of("%_\\") == std::string_view::npos)
            return text.find(inner) != std::string_view::npos;
    }
    // Greedy matching that backtracks only to the last `%`: linear in practice, and never
    // exponential however many `%` a pattern holds.
    size_t p = 0;
    size_t t = 0;
    size_t star_p = std::string_view::npos;
    size_t star_t = 0;
    while (t < text.size()) {
        if (p < pattern.size()) {
            const char c = pattern[p];
            if (c == '%') {
                star_p = ++p;
                star_t = t;
                continue;
            }
            if (c == '_') {
                ++p;
                ++t;
                continue;
            }
            if (c == '\\' && p + 1 < pattern.size()) {
                if (pattern[p + 1] == text[t]) {
                    p += 2;
                    ++t;
                    continue;
                }
            } else if (c == text[t]) {
                ++p;
                ++t;
                continue;
            }
        }
        if (star_p == std::string_view::npos)
            return false;
        p = star_p;
        t = ++star_t;
    }
    while (p < pattern.size() && pattern[p] == '%')
        ++p;
    return p == pattern.size();
}

Status validate_like_pattern(std::string_view pattern) {
    size_t backslashes = 0;
    while (backslashes < pattern.size() && pattern[pattern.size() - 1 - backslashes] == '\\')
        ++backslashes;
    if (backslashes % 2 == 1)
        return Status::error("must not end with an unpaired '\\' (it escapes the next character)");
    return Status::ok();
}

PayloadCondition::PayloadCondition(std::vector<JsonCondition> json,
                                   std::optional<std::string> contains,
                                   std::optional<std::string> like)
    : json_(std::move(json)), contains_(std::move(contains)), like_(std::move(like)) {
    for (const JsonCondition& c : json_) {
        auto doc = std::make_shared<rapidjson::Document>();
        doc->Parse(c.value_json.data(), c.value_json.size());
        values_.push_back(std::move(doc));
    }
}

const rapidjson::Document* ParsedPayload::json() {
    if (!parsed_) {
        parsed_ = true;
        doc_.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag>(
            payload_.data(), payload_.size());
    }
    return doc_.HasParseError() ? nullptr : &doc_;
}

bool PayloadCondition::matches(std::string_view payload) const {
    ParsedPayload parsed(payload);
    return matches(parsed);
}

bool PayloadCondition::matches(ParsedPayload& payload) const {
    if (contains_ && payload.bytes().find(*contains_) == std::string_view::npos)
        return false;
    if (like_ && !like_matches(*like_, payload.bytes()))
        return false;
    if (json_.empty())
        return true;
    const rapidjson::Document* doc = payload.json();
    if (doc == nullptr)
        return false;
    for (size_t i = 0; i < json_.size(); ++i) {
        if (!holds(json_[i], *values_[i], find_field(*doc, json_[i].path)))
            return false;
    }
    return true;
}

}  // namespace culex
