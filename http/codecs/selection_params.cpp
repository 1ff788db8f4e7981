#include "selection_params.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "common/json_check.h"
#include "common/payload_condition.h"
#include "common/topic_filter.h"

namespace culex {
namespace {

constexpr size_t kMaxConditions = 16;

}  // namespace

void read_selection(ParamReader& params, MessageSelection& s) {
    s.topic = params.text("topic");
    if (s.topic) {
        Status valid = validate_topic_name(*s.topic);
        if (!valid.is_ok())
            params.fail("parameter 'topic': " + valid.message());
    }
    s.filter = params.text("filter");
    if (s.filter) {
        Status valid = validate_topic_filter(*s.filter);
        if (!valid.is_ok())
            params.fail("parameter 'filter': " + valid.message());
    }
    if (s.topic && s.filter)
        params.fail("give 'topic' or 'filter', not both");
    s.after_us = params.time_us("after");
    s.before_us = params.time_us("before");
    s.payload_contains = params.text("contains");
    if (s.payload_contains && s.payload_contains->empty())
        params.fail("parameter 'contains' is empty");
    s.payload_like = params.text("like");
    // PostgreSQL refuses a pattern ending in its escape character: a 400 here, not a 500.
    if (s.payload_like) {
        if (Status valid = validate_like_pattern(*s.payload_like); !valid.is_ok())
            params.fail("parameter 'like': " + valid.message());
    }
    const std::vector<std::string> conditions = params.list("where");
    if (conditions.size() > kMaxConditions)
        params.fail("at most 16 'where' conditions");
    for (const std::string& where : conditions) {
        Result<JsonCondition> condition = parse_json_condition(where);
        if (!condition.is_ok()) {
            params.fail("parameter 'where': " + condition.status().message());
            break;
        }
        s.json.push_back(std::move(condition.value()));
    }
    if (std::optional<int64_t> qos = params.integer("qos", 0, 2))
        s.qos = static_cast<int>(*qos);
    s.retain = params.boolean("retain");
    s.client_id = params.text("client_id");
}

}  // namespace culex
