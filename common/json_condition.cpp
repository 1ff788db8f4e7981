#include "json_condition.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "json_check.h"

namespace culex {
namespace {

constexpr size_t kMaxPathDepth = 32;
constexpr size_t kMaxKeyLength = 256;

bool key_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

std::string trim(std::string_view s) {
    while (!s.empty() && s.front() == ' ')
        s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ')
        s.remove_suffix(1);
    return std::string(s);
}

// The JSON text of a condition's value: a JSON scalar as written, or bare text as a string.
Result<std::string> condition_value(std::string_view text) {
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag>(text.data(),
                                                                                      text.size());
    if (!doc.HasParseError()) {
        if (doc.IsObject() || doc.IsArray())
            return Status::error("a condition compares with a number, string, true, false or null");
        if (!is_storable_json(text))
            return Status::error("the number '" + std::string(text) + "' is out of range");
        return std::string(text);
    }
    if (text.front() == '-' || (text.front() >= '0' && text.front() <= '9')) {
        return Status::error("'" + std::string(text) +
                             "' is not a number JSON can hold; quote it to compare as a string");
    }
    rapidjson::StringBuffer out;
    rapidjson::Writer<rapidjson::StringBuffer> w(out);
    w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
    return std::string(out.GetString(), out.GetSize());
}

}  // namespace

Result<std::vector<std::string>> parse_json_path(std::string_view text) {
    std::vector<std::string> path;
    if (text == "$")
        return path;
    if (text.substr(0, 2) == "$.")
        text.remove_prefix(2);
    size_t start = 0;
    while (true) {
        size_t end = text.find('.', start);
        std::string_view key = text.substr(
            start, end == std::string_view::npos ? std::string_view::npos : end - start);
        if (key.empty() || key.size() > kMaxKeyLength) {
            return Status::error(
                "a field path is '$' or keys of 1 to 256 characters joined by "
                "dots, like 'sensor.temp'");
        }
        for (char c : key) {
            if (!key_char(c)) {
                return Status::error(
                    "field path keys may hold letters, digits, '_' and '-', not '" +
                    std::string(1, c) + "'");
            }
        }
        path.emplace_back(key);
        if (path.size() > kMaxPathDepth)
            return Status::error("a field path has at most 32 keys");
        if (end == std::string_view::npos)
            break;
        start = end + 1;
    }
    return path;
}

Result<JsonCondition> parse_json_condition(std::string_view text) {
    JsonCondition c;
    const std::string condition = trim(text);
    std::string_view s = condition;
    if (s.substr(0, 7) == "exists(" && s.size() > 8 && s.back() == ')') {
        Result<std::vector<std::string>> path = parse_json_path(trim(s.substr(7, s.size() - 8)));
        if (!path.is_ok())
            return path.status();
        c.path = std::move(path.value());
        c.op = JsonOp::kExists;
        return c;
    }
    const size_t op_at = s.find_first_of("=!<>");
    if (op_at == std::string_view::npos) {
        return Status::error(
            "a condition is 'field op value' with op one of = != < <= > >=, "
            "or 'exists(field)'");
    }
    std::string_view rest = s.substr(op_at);
    size_t op_len = 1;
    if (rest.substr(0, 2) == "!=") {
        c.op = JsonOp::kNe;
        op_len = 2;
    } else if (rest.substr(0, 2) == "<=") {
        c.op = JsonOp::kLe;
        op_len = 2;
    } else if (rest.substr(0, 2) == ">=") {
        c.op = JsonOp::kGe;
        op_len = 2;
    } else if (rest[0] == '=') {
        c.op = JsonOp::kEq;
    } else if (rest[0] == '<') {
        c.op = JsonOp::kLt;
    } else if (rest[0] == '>') {
        c.op = JsonOp::kGt;
    } else {
        return Status::error("'!' must be followed by '=' in a condition");
    }
    Result<std::vector<std::string>> path = parse_json_path(trim(s.substr(0, op_at)));
    if (!path.is_ok())
        return path.status();
    c.path = std::move(path.value());
    const std::string value_text = trim(rest.substr(op_len));
    if (value_text.empty())
        return Status::error("the condition '" + condition + "' has no value");
    // `temp=>3` is a typo for `temp>=3` far more often than a comparison with the text
    // ">3": a bare value may not begin with an operator character (quoted, it may).
    if (value_text.find_first_of("=!<>") == 0) {
        return Status::error("the condition '" + condition +
                             "' has a value that begins with an operator character; write "
                             "one of = != < <= > >=, or quote a text value (\"" +
                             value_text + "\")");
    }
    Result<std::string> value = condition_value(value_text);
    if (!value.is_ok())
        return value.status();
    c.value_json = std::move(value.value());
    const char first = c.value_json.front();
    const bool orderable = first == '"' || first == '-' || (first >= '0' && first <= '9');
    if (c.op != JsonOp::kEq && c.op != JsonOp::kNe && !orderable)
        return Status::error("<, <=, > and >= compare with a number or a string");
    return c;
}

}  // namespace culex
