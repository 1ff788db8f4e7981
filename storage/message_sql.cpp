#include "message_sql.h"

#include "common/hex.h"
#include "pg_array.h"

namespace culex {
namespace {

bool has_wildcard(std::string_view filter) {
    return filter.find_first_of("+#") != std::string_view::npos;
}

const char* json_operator(JsonOp op) {
    switch (op) {
        case JsonOp::kEq:
            return "=";
        case JsonOp::kNe:
            return "<>";
        case JsonOp::kLt:
            return "<";
        case JsonOp::kLe:
            return "<=";
        case JsonOp::kGt:
            return ">";
        case JsonOp::kGe:
            return ">=";
        case JsonOp::kExists:
            break;
    }
    return "";
}

std::string json_condition_sql(const JsonCondition& c, SqlParams& params) {
    const std::string field =
        "(m.payload_json #> " + params.add(pg_text_array(c.path)) + "::text[])";
    if (c.op == JsonOp::kExists)
        return field + " IS NOT NULL";
    if (c.op == JsonOp::kEq || c.op == JsonOp::kNe)
        return field + " " + json_operator(c.op) + " " + params.add(c.value_json) + "::jsonb";
    // Ordering compares numbers as numbers and strings bytewise; the CASE keeps a field
    // of another type from reaching the cast (AND does not fix evaluation order).
    const std::string value = params.add(c.value_json);
    const bool is_string = !c.value_json.empty() && c.value_json.front() == '"';
    if (is_string) {
        return "(CASE WHEN jsonb_typeof(" + field + ") = 'string' THEN " + field +
               " #>> '{}' END) COLLATE \"C\" " + json_operator(c.op) + " (" + value +
               "::jsonb #>> '{}') COLLATE \"C\"";
    }
    return "(CASE WHEN jsonb_typeof(" + field + ") = 'number' THEN " + field + "::numeric END) " +
           json_operator(c.op) + " " + value + "::numeric";
}

}  // namespace

std::string SqlParams::add_bytes(std::string_view bytes) {
    return add("\\x" + hex_encode(bytes)) + "::bytea";
}

std::string topic_filter_regex(std::string_view filter) {
    std::string re = "^";
    size_t start = 0;
    bool first = true;
    while (true) {
        size_t end = filter.find('/', start);
        std::string_view level = filter.substr(
            start, end == std::string_view::npos ? std::string_view::npos : end - start);
        if (level == "#") {
            // `a/#` also matches `a` itself; a lone `#` matches everything.
            re += first ? ".*" : "(/.*)?";
            return re + "$";
        }
        if (!first)
            re += '/';
        if (level == "+") {
            re += "[^/]*";
        } else {
            for (char c : level) {
                const auto u = static_cast<unsigned char>(c);
                const bool plain = (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') ||
                                   (u >= 'A' && u <= 'Z') || u == '_' || u >= 0x80;
                if (!plain)
                    re += '\\';
                re += c;
            }
        }
        if (end == std::string_view::npos)
            break;
        start = end + 1;
        first = false;
    }
    return re + "$";
}

std::string topic_name_condition_sql(const std::string& filter, SqlParams& params) {
    if (!has_wildcard(filter))
        return "name = " + params.add(filter);
    // Filters that start with a wildcard do not match `$` topics (MQTT 4.7.2).
    const bool skip_dollar = filter.front() == '+' || filter.front() == '#';
    return "name ~ " + params.add(topic_filter_regex(filter)) +
           (skip_dollar ? " AND left(name, 1) <> '$'" : "");
}

std::string topic_condition_sql(std::string_view id_column, const std::string& filter,
                                SqlParams& params) {
    const std::string column(id_column);
    const std::string names = topic_name_condition_sql(filter, params);
    if (!has_wildcard(filter))
        return column + " = (SELECT id FROM culex.topics WHERE " + names + ")";
    return column + " IN (SELECT id FROM culex.topics WHERE " + names + ")";
}

std::string topic_set_sql(const MessageSelection& s, SqlParams& params) {
    std::string sql;
    if (s.filter)
        sql = topic_name_condition_sql(*s.filter, params);
    if (s.topic_like)
        sql += (sql.empty() ? "name LIKE " : " AND name LIKE ") + params.add(*s.topic_like);
    return sql;
}

std::string record_id_sql(const std::string& alias, const std::string& id_param) {
    return alias + ".id = " + id_param + " AND " + alias +
           ".received_at >= culex.message_id_from(" + id_param + ") AND " + alias +
           ".received_at < culex.message_id_until(" + id_param + ")";
}

std::string micros_to_timestamptz(const std::string& placeholder) {
    return "(timestamptz 'epoch' + " + placeholder + "::bigint * interval '1 microsecond')";
}

std::string selection_sql(const MessageSelection& s, RowState state, SqlParams& params) {
    std::vector<std::string> parts;
    switch (state) {
        case RowState::kLive:
            parts.emplace_back("m.deleted_at IS NULL");
            break;
        case RowState::kDeleted:
            parts.emplace_back("m.deleted_at IS NOT NULL");
            break;
        case RowState::kAny:
            break;
    }
    if (s.id)
        parts.push_back(record_id_sql("m", params.add(std::to_string(*s.id)) + "::bigint"));
    if (s.topic)
        parts.push_back(topic_condition_sql("m.topic_id", *s.topic, params));
    if (s.filter)
        parts.push_back(topic_condition_sql("m.topic_id", *s.filter, params));
    if (s.topic_like)
        parts.push_back("m.topic_id IN (SELECT id FROM culex.topics WHERE name LIKE " +
                        params.add(*s.topic_like) + ")");
    if (s.after_us)
        parts.push_back("m.received_at > " +
                        micros_to_timestamptz(params.add(std::to_string(*s.after_us))));
    if (s.before_us)
        parts.push_back("m.received_at < " +
                        micros_to_timestamptz(params.add(std::to_string(*s.before_us))));
    if (s.payload_contains)
        parts.push_back("position(" + params.add_bytes(*s.payload_contains) + " in m.payload) > 0");
    if (s.payload_like)
        parts.push_back("m.payload LIKE " + params.add_bytes(*s.payload_like));
    for (const JsonCondition& c : s.json)
        parts.push_back(json_condition_sql(c, params));
    if (s.qos)
        parts.push_back("m.qos = " + params.add(std::to_string(*s.qos)) + "::smallint");
    if (s.retain)
        parts.push_back(std::string("m.retain = ") + (*s.retain ? "true" : "false"));
    if (s.client_id)
        parts.push_back("m.client_id = " + params.add(*s.client_id));
    if (parts.empty())
        return "true";
    std::string sql;
    for (const std::string& part : parts) {
        if (!sql.empty())
            sql += " AND ";
        sql += part;
    }
    return sql;
}

}  // namespace culex
