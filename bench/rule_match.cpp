// Cost of matching one message against a rule set, on the matcher thread, without the
// database: the bench/rules_load.sh rule mix (980 rules on bench/+/<j> with a JSON
// condition, 10 LIKE rules on bench/#, 10 on the probe topic) and, for comparison, the
// same count of rules on topics the messages never use, and 100 rules that all test
// every message.
//
// Usage: rule_match [MESSAGES]   (default 2,000,000)
#include <rapidjson/document.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "notify/rule.h"
#include "notify/rule_set.h"

using namespace culex;

namespace {

Rule make_rule(int64_t id, const std::string& filter, const std::string& condition) {
    const std::string text = R"({"name": "r)" + std::to_string(id) + R"(", "topic_filter": ")" +
                             filter + "\", " + condition +
                             R"("actions": [{"type": "republish", "topic": "out"}]})";
    rapidjson::Document d;
    d.Parse(text.c_str());
    Result<Rule> r = parse_rule(d, nullptr);
    if (!r.is_ok()) {
        std::fprintf(stderr, "%s: %s\n", text.c_str(), r.status().message().c_str());
        std::exit(1);
    }
    r.value().id = id;
    return r.value();
}

double ns_per_message(const RuleSet& set, long messages, long& matched) {
    const auto t0 = std::chrono::steady_clock::now();
    matched = 0;
    for (long i = 0; i < messages; ++i) {
        const std::string topic = "bench/" + std::to_string(i % 4) + "/" + std::to_string(i % 250);
        const std::string payload =
            "{\"seq\":" + std::to_string(i) + ",\"ts\":1795678262114000," +
            "\"probe\":false,\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}";
        matched += static_cast<long>(set.match(topic, payload).size());
    }
    const auto t1 = std::chrono::steady_clock::now();
    return std::chrono::duration<double, std::nano>(t1 - t0).count() /
           static_cast<double>(messages);
}

}  // namespace

int main(int argc, char** argv) {
    const long messages = argc > 1 ? std::atol(argv[1]) : 2000000;
    std::vector<Rule> mix;
    std::vector<Rule> elsewhere;
    int64_t id = 1;
    for (int j = 0; j < 980; ++j)
        mix.push_back(make_rule(id++, "bench/+/" + std::to_string(j), R"("where": ["seq<0"], )"));
    for (int j = 0; j < 10; ++j)
        mix.push_back(make_rule(id++, "bench/#",
                                R"("like": "%never-present-)" + std::to_string(j) + R"(%", )"));
    for (int j = 0; j < 10; ++j)
        mix.push_back(make_rule(id++, "bench/probe/#", R"("where": ["probe=true"], )"));
    for (int j = 0; j < 1000; ++j)
        elsewhere.push_back(make_rule(id++, "other/" + std::to_string(j) + "/+", ""));
    std::vector<Rule> same_topic;
    for (int j = 0; j < 100; ++j)
        same_topic.push_back(
            make_rule(id++, "bench/#", R"("where": ["seq<)" + std::to_string(-j) + R"("], )"));
    long matched = 0;
    const RuleSet none({});
    std::printf("rules=0 ns_per_message=%.0f\n", ns_per_message(none, messages, matched));
    const RuleSet other(elsewhere);
    std::printf("rules=1000 (other topics) ns_per_message=%.0f matched=%ld\n",
                ns_per_message(other, messages, matched), matched);
    const RuleSet set(mix);
    std::printf("rules=1000 (rules_load.sh mix) ns_per_message=%.0f matched=%ld\n",
                ns_per_message(set, messages, matched), matched);
    const RuleSet hundred(same_topic);
    std::printf("rules=100 (all on bench/#, JSON conditions) ns_per_message=%.0f matched=%ld\n",
                ns_per_message(hundred, messages, matched), matched);
    return 0;
}
