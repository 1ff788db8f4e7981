#include <arpa/inet.h>
#include <netinet/in.h>
#include <rapidjson/document.h>
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "common/book_record.h"
#include "common/config.h"
#include "common/payload_condition.h"
#include "common/topic_filter.h"
#include "http/codecs/selection_params.h"
#include "notify/delivery_dispatcher.h"
#include "notify/message_template.h"
#include "notify/rule.h"
#include "notify/rule_set.h"
#include "notify/target_policy.h"

using namespace culex;

namespace {

// A plain recursive LIKE, to check the linear one against.
bool naive_like(std::string_view p, std::string_view t) {
    if (p.empty())
        return t.empty();
    if (p[0] == '%')
        return naive_like(p.substr(1), t) || (!t.empty() && naive_like(p, t.substr(1)));
    if (t.empty())
        return false;
    if (p[0] == '_')
        return naive_like(p.substr(1), t.substr(1));
    if (p[0] == '\\' && p.size() > 1)
        return p[1] == t[0] && naive_like(p.substr(2), t.substr(1));
    return p[0] == t[0] && naive_like(p.substr(1), t.substr(1));
}

PayloadCondition where(std::vector<std::string> conditions) {
    std::vector<JsonCondition> parsed;
    for (const std::string& c : conditions) {
        Result<JsonCondition> r = parse_json_condition(c);
        REQUIRE(r.is_ok());
        parsed.push_back(r.value());
    }
    return PayloadCondition(parsed, std::nullopt, std::nullopt);
}

Rule rule(int64_t id, const std::string& filter, const std::string& extra = "") {
    rapidjson::Document d;
    const std::string text = R"({"name": "r)" + std::to_string(id) + R"(", "topic_filter": ")" +
                             filter + R"(", )" + extra +
                             R"("actions": [{"type": "republish", "topic": "out"}]})";
    d.Parse(text.c_str());
    Result<Rule> r = parse_rule(d, nullptr);
    INFO(text << " " << r.status().message());
    REQUIRE(r.is_ok());
    r.value().id = id;
    return r.value();
}

}  // namespace

TEST_CASE("LIKE over bytes matches SQL's %, _ and \\ escapes", "[rules]") {
    CHECK(like_matches("%open%", "door is open now"));
    CHECK_FALSE(like_matches("%open%", "closed"));
    CHECK(like_matches("a_c", "abc"));
    CHECK_FALSE(like_matches("a_c", "ac"));
    CHECK(like_matches("100\\%", "100%"));
    CHECK_FALSE(like_matches("100\\%", "1000"));
    CHECK(like_matches("%", ""));
    CHECK(like_matches("", ""));
    CHECK_FALSE(like_matches("", "a"));
    CHECK(like_matches("%a%b%c%", std::string("xxaxxbxx\0c", 10)));
    std::mt19937 rng(7);
    const std::string alphabet = "ab%_\\";
    for (int i = 0; i < 20000; ++i) {
        std::string p, t;
        for (int n = rng() % 7; n > 0; --n)
            p += alphabet[rng() % alphabet.size()];
        if (!p.empty() && p.back() == '\\')
            p.pop_back();
        for (int n = rng() % 7; n > 0; --n)
            t += "ab%_\\"[rng() % 5];
        INFO(p << " ~ " << t);
        REQUIRE(like_matches(p, t) == naive_like(p, t));
    }
}

TEST_CASE("JSON conditions mean what they mean in the data API", "[rules]") {
    CHECK(where({"temp>30"}).matches(R"({"temp": 31})"));
    CHECK_FALSE(where({"temp>30"}).matches(R"({"temp": 30})"));
    CHECK(where({"temp>30"}).matches(R"({"temp": 30.5})"));
    CHECK_FALSE(where({"temp>30"}).matches(R"({"temp": "31"})"));  // a string is not a number
    CHECK_FALSE(where({"temp>30"}).matches(R"({"other": 31})"));
    CHECK_FALSE(where({"temp>30"}).matches("31"));
    CHECK_FALSE(where({"temp>30"}).matches("not json"));
    CHECK(where({"$>30"}).matches("31"));
    CHECK(where({"big=9007199254740993"}).matches(R"({"big": 9007199254740993})"));
    CHECK_FALSE(where({"big=9007199254740993"}).matches(R"({"big": 9007199254740992})"));
    CHECK(where({"n=1"}).matches(R"({"n": 1.0})"));
    CHECK(where({"status=ok"}).matches(R"({"status": "ok"})"));
    CHECK_FALSE(where({"status=ok"}).matches(R"({"status": "OK"})"));
    CHECK(where({"status!=ok"}).matches(R"({"status": "fail"})"));
    CHECK(where({"status!=ok"}).matches(R"({"status": 1})"));
    CHECK_FALSE(where({"status!=ok"}).matches(R"({})"));  // missing: no comparison holds
    CHECK(where({"name<b"}).matches(R"({"name": "abc"})"));
    CHECK(where({"flag=true"}).matches(R"({"flag": true})"));
    CHECK(where({"v=null"}).matches(R"({"v": null})"));
    CHECK(where({"exists(alarm)"}).matches(R"({"alarm": null})"));
    CHECK_FALSE(where({"exists(alarm)"}).matches(R"({"alarms": 1})"));
    CHECK(where({"a.b.1>2"}).matches(R"({"a": {"b": [1, 3]}})"));
    CHECK(where({"a.-1=3"}).matches(R"({"a": [1, 2, 3]})"));
    CHECK_FALSE(where({"a.3=3"}).matches(R"({"a": [1, 2, 3]})"));
    CHECK(where({"t>1", "t<5"}).matches(R"({"t": 3})"));
    CHECK_FALSE(where({"t>1", "t<5"}).matches(R"({"t": 7})"));
    // Operator typos are refused rather than compared with the text they leave.
    for (const char* typo :
         {"temp=>3", "temp=<3", "temp==3", "temp!==3", "temp<>3", "temp>=>3", "temp = >3"}) {
        INFO(typo);
        Result<JsonCondition> refused = parse_json_condition(typo);
        REQUIRE_FALSE(refused.is_ok());
        CHECK(refused.status().message().find("begins with an operator character") !=
              std::string::npos);
    }
    CHECK(where({R"(code="=>3")"}).matches(R"({"code": "=>3"})"));  // quoted, it is text
    PayloadCondition text({}, std::string("lo"), std::string("h%o"));
    CHECK(text.matches("hello"));
    CHECK_FALSE(text.matches("hero"));  // LIKE holds, contains does not
    CHECK_FALSE(text.matches("lo and behold"));
}

TEST_CASE("the rule index matches exactly the rules whose filter matches", "[rules]") {
    std::mt19937 rng(11);
    const std::vector<std::string> levels = {"a", "b", "$s", "", "+", "#"};
    std::vector<std::string> filters;
    for (int i = 0; i < 300; ++i) {
        std::string f;
        const int depth = 1 + static_cast<int>(rng() % 4);
        for (int d = 0; d < depth; ++d) {
            std::string level = levels[rng() % levels.size()];
            if (level == "#" && d != depth - 1)
                level = "+";
            f += (d == 0 ? "" : "/") + level;
        }
        if (validate_topic_filter(f).is_ok())
            filters.push_back(f);
    }
    std::vector<Rule> rules;
    for (size_t i = 0; i < filters.size(); ++i)
        rules.push_back(rule(static_cast<int64_t>(i + 1), filters[i]));
    RuleSet set(rules);
    for (int i = 0; i < 5000; ++i) {
        std::string topic;
        const int depth = 1 + static_cast<int>(rng() % 5);
        for (int d = 0; d < depth; ++d)
            topic += (d == 0 ? "" : "/") +
                     std::string(std::vector<std::string>{"a", "b", "$s", ""}[rng() % 4]);
        std::vector<int64_t> expected;
        for (size_t r = 0; r < filters.size(); ++r) {
            if (topic_matches(filters[r], topic))
                expected.push_back(static_cast<int64_t>(r + 1));
        }
        std::vector<int64_t> got;
        for (const Rule* r : set.match(topic, ""))
            got.push_back(r->id);
        INFO(topic);
        REQUIRE(got == expected);
    }
}

TEST_CASE("the rule index applies each rule's payload condition", "[rules]") {
    RuleSet set({rule(1, "s/+", R"("where": "t>5", )"), rule(2, "s/#", R"("contains": "x", )"),
                 rule(3, "s/a")});
    auto ids = [&](const std::string& topic, const std::string& payload) {
        std::vector<int64_t> out;
        for (const Rule* r : set.match(topic, payload))
            out.push_back(r->id);
        return out;
    };
    CHECK(ids("s/a", R"({"t": 6})") == std::vector<int64_t>{1, 3});
    CHECK(ids("s/a", R"({"t": 6, "x": 1})") == std::vector<int64_t>{1, 2, 3});
    CHECK(ids("s/b", R"({"t": 1})") == std::vector<int64_t>{});
    CHECK(ids("s", "x") == std::vector<int64_t>{2});
}

TEST_CASE("topic_like narrows a rule's topic filter with a LIKE pattern", "[rules]") {
    RuleSet set({rule(1, "#", R"("topic_like": "plant/%/temp", )"), rule(2, "plant/#")});
    auto ids = [&](const std::string& topic) {
        std::vector<int64_t> out;
        for (const Rule* r : set.match(topic, ""))
            out.push_back(r->id);
        return out;
    };
    CHECK(ids("plant/b1/temp") == std::vector<int64_t>{1, 2});
    CHECK(ids("plant/b1/temperature") == std::vector<int64_t>{2});
    CHECK(ids("office/temp") == std::vector<int64_t>{});
}

TEST_CASE("book timestamps are epoch seconds with three decimals", "[rules]") {
    CHECK(book_timestamp(1795678262114233) == "1795678262.114");
    CHECK(book_timestamp(1795678262000999) == "1795678262.000");
    CHECK(book_timestamp(5000) == "0.005");
}

TEST_CASE("templates fill in message fields and refuse unknown placeholders", "[rules]") {
    StoredMessage m;
    m.id = 42;
    m.topic = "plant/boiler";
    m.payload = R"({"level": "high", "n": {"v": [1, 2]}, "o": {"k": 1}})";
    m.qos = 1;
    m.client_id = "plc";
    m.received_us = 1700000000123456;
    Result<MessageTemplate> t = MessageTemplate::parse(
        "{{rule}}:{{topic}}:{{payload.level}}:{{payload.n.v.1}}:{{payload.o}}:{{payload.none}}:"
        "{{qos}}:{{retain}}:{{client_id}}:{{id}}:{{time}}:{{time_ms}}");
    REQUIRE(t.is_ok());
    CHECK(t.value().render(m, "r", false) ==
          "r:plant/"
          "boiler:high:2:{\"k\":1}::1:false:plc:42:2023-11-14T22:13:20.123456Z:1700000000123");
    m.payload = std::string("\xff\x00", 2);
    CHECK(MessageTemplate::parse("{{payload}}").value().render(m, "r", false) == "/wA=");
    CHECK(MessageTemplate::parse("{{payload}}").value().render(m, "r", true) == m.payload);
    CHECK(MessageTemplate::parse("no placeholders").value().render(m, "r", false) ==
          "no placeholders");
    CHECK(MessageTemplate::parse("{{nope}}")
              .status()
              .message()
              .find("unknown placeholder {{nope}}") == 0);
    CHECK(!MessageTemplate::parse("{{topic").is_ok());
    CHECK(!MessageTemplate::parse("{{payload.a b}}").is_ok());
}

TEST_CASE("the target policy: public by default, allow wins over deny, names and networks",
          "[rules]") {
    TargetPolicy none = TargetPolicy::parse({}, {}).value();
    for (const char* ip : {"127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
                           "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "::1",
                           "::", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1"}) {
        INFO(ip);
        CHECK_FALSE(none.allows_address(ip));
    }
    for (const char* ip : {"8.8.8.8", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8"}) {
        INFO(ip);
        CHECK(none.allows_address(ip));
    }
    CHECK(none.check_host("example.com") == TargetPolicy::Verdict::kByAddress);
    CHECK(none.check_host("127.0.0.1") == TargetPolicy::Verdict::kDeny);
    CHECK(none.check_host("[::1]") == TargetPolicy::Verdict::kDeny);
    CHECK(none.check_host("8.8.8.8") == TargetPolicy::Verdict::kAllow);

    TargetPolicy p =
        TargetPolicy::parse({"127.0.0.1", "10.9.0.0/16", "hooks.internal", "*.corp.example"},
                            {"8.8.0.0/16", "evil.example", "*.example.org", "10.0.0.0/8"})
            .value();
    CHECK(p.allows_address("127.0.0.1"));
    CHECK_FALSE(p.allows_address("127.0.0.2"));
    CHECK(p.allows_address("10.9.1.1"));  // allowed network inside a denied one
    CHECK_FALSE(p.allows_address("10.8.1.1"));
    CHECK_FALSE(p.allows_address("8.8.8.8"));  // denied public network
    CHECK(p.allows_address("8.9.8.8"));
    CHECK(p.check_host("HOOKS.internal") == TargetPolicy::Verdict::kAllow);
    CHECK(p.check_host("a.corp.example") == TargetPolicy::Verdict::kAllow);
    CHECK(p.check_host("corp.example") == TargetPolicy::Verdict::kByAddress);
    CHECK(p.check_host("evil.example.") == TargetPolicy::Verdict::kDeny);
    CHECK(p.check_host("x.y.example.org") == TargetPolicy::Verdict::kDeny);
    sockaddr_in v4{};
    v4.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &v4.sin_addr);
    CHECK(p.allows_address(reinterpret_cast<sockaddr*>(&v4)));
    CHECK_FALSE(none.allows_address(reinterpret_cast<sockaddr*>(&v4)));
    for (const char* bad : {"10.0.0.0/33", "::1/129", "a b", "", "x/8", "10.0.0.0/"}) {
        INFO(bad);
        CHECK_FALSE(TargetPolicy::parse({bad}, {}).is_ok());
    }
}

TEST_CASE("retry delays double up to the maximum, with jitter of at most half", "[rules]") {
    Config c;
    c.delivery_retry_initial_ms = 1000;
    c.delivery_retry_max_ms = 10000;
    for (int i = 0; i < 200; ++i) {
        const int64_t first = DeliveryDispatcher::retry_delay_ms(c, 1);
        CHECK((first >= 500 && first <= 1000));
        const int64_t third = DeliveryDispatcher::retry_delay_ms(c, 3);
        CHECK((third >= 2000 && third <= 4000));
        const int64_t late = DeliveryDispatcher::retry_delay_ms(c, 60);
        CHECK((late >= 5000 && late <= 10000));
    }
}
