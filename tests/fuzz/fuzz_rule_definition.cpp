// libFuzzer target: rule definitions as the API receives them. Input: a JSON definition,
// then (after a NUL) a topic and (after another NUL) a payload. parse_rule never crashes;
// an accepted rule survives the stored round trip (its condition and actions as JSON)
// unchanged, indexes, matches the topic exactly when its filter does, and renders its
// deliveries, each with a JSON request.
#include <rapidjson/document.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/topic_filter.h"
#include "notify/delivery_request.h"
#include "notify/rule.h"
#include "notify/rule_set.h"

using namespace culex;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    const size_t first = input.find('\0');
    const std::string definition(input.substr(0, first));
    std::string topic = "t";
    std::string payload;
    if (first != std::string_view::npos) {
        std::string_view rest = input.substr(first + 1);
        const size_t second = rest.find('\0');
        topic = std::string(rest.substr(0, second));
        if (second != std::string_view::npos)
            payload = std::string(rest.substr(second + 1));
    }
    rapidjson::Document d;
    d.Parse(definition.c_str(), definition.size());
    if (d.HasParseError())
        return 0;
    static const TargetPolicy policy = TargetPolicy::parse({}, {}).value();
    Result<Rule> parsed = parse_rule(d, &policy);
    if (!parsed.is_ok())
        return 0;
    Rule& rule = parsed.value();
    rule.id = 1;
    Result<Rule> stored = rule_from_stored(1, rule.name, rule.enabled, rule.topic_filter,
                                           rule.condition_json, rule.actions_json, rule.secret);
    if (!stored.is_ok() || stored.value().condition_json != rule.condition_json ||
        stored.value().actions_json != rule.actions_json)
        std::abort();
    if (!validate_topic_name(topic).is_ok())
        return 0;
    RuleSet set({rule});
    std::vector<const Rule*> matched = set.match(topic, payload);
    const bool filter_matches = topic_matches(rule.topic_filter, topic);
    if (!filter_matches && !matched.empty())
        std::abort();
    if (filter_matches && rule.condition.empty() && !rule.topic_like && matched.size() != 1)
        std::abort();
    StoredMessage m;
    m.id = 7;
    m.topic = topic;
    m.payload = payload;
    m.client_id = "c";
    m.broker = "b";
    for (const NewDelivery& delivery : deliveries_for(rule, m, 3)) {
        rapidjson::Document request;
        request.Parse(delivery.request_json.c_str(), delivery.request_json.size());
        if (request.HasParseError() || !request.IsObject())
            std::abort();
    }
    return 0;
}
