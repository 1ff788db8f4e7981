#include <catch2/catch.hpp>
#include <string>

#include "http/codecs/selection_params.h"
#include "storage/message_sql.h"

using namespace culex;

TEST_CASE("where conditions parse into path, operator and JSON value", "[http]") {
    Result<JsonCondition> c = parse_json_condition("temp>30");
    REQUIRE(c.is_ok());
    CHECK(c.value().path == std::vector<std::string>{"temp"});
    CHECK(c.value().op == JsonOp::kGt);
    CHECK(c.value().value_json == "30");

    c = parse_json_condition("$.meta.room = \"kitchen\"");
    REQUIRE(c.is_ok());
    CHECK(c.value().path == std::vector<std::string>{"meta", "room"});
    CHECK(c.value().op == JsonOp::kEq);
    CHECK(c.value().value_json == "\"kitchen\"");

    c = parse_json_condition("status!=ok");
    REQUIRE(c.is_ok());
    CHECK(c.value().op == JsonOp::kNe);
    CHECK(c.value().value_json == "\"ok\"");

    c = parse_json_condition("$<=-1.5e3");
    REQUIRE(c.is_ok());
    CHECK(c.value().path.empty());
    CHECK(c.value().op == JsonOp::kLe);

    c = parse_json_condition("exists(a.0.b)");
    REQUIRE(c.is_ok());
    CHECK(c.value().op == JsonOp::kExists);
    CHECK(c.value().path == std::vector<std::string>{"a", "0", "b"});

    CHECK(parse_json_condition("on=true").value().value_json == "true");
    CHECK(parse_json_condition("x=it's \"q\"").value().value_json == "\"it's \\\"q\\\"\"");
}

TEST_CASE("bad where conditions are refused with a reason", "[http]") {
    for (const char* bad :
         {"", "temp", "temp>", ">3", "a..b=1", "a b=1", "temp>true", "temp<null", "x={\"a\":1}",
          "x=[1]", "temp>1e99999", "a!b", "exists()", "exists(a b)", "$.=1", "x;DROP TABLE t=1"}) {
        INFO(bad);
        Result<JsonCondition> c = parse_json_condition(bad);
        CHECK_FALSE(c.is_ok());
        if (!c.is_ok())
            CHECK_FALSE(c.status().message().empty());
    }
    std::string deep;
    for (int i = 0; i < 33; ++i)
        deep += (i ? ".k" : "k");
    CHECK_FALSE(parse_json_path(deep).is_ok());
}

TEST_CASE("read_selection reads and validates every selection parameter", "[http]") {
    Result<ParamReader> parsed = ParamReader::parse(
        "filter=a%2F%2B&after=1000&before=2026-01-01T00:00:00Z&contains=x&like=%25y&"
        "where=t>1&qos=1&retain=false&client_id=c");
    REQUIRE(parsed.is_ok());
    MessageSelection s;
    read_selection(parsed.value(), s);
    REQUIRE(parsed.value().finish().is_ok());
    CHECK(s.filter == "a/+");
    CHECK(s.after_us == 1000000);
    CHECK(s.before_us.has_value());
    CHECK(s.payload_like == "%y");
    CHECK(s.json.size() == 1);
    CHECK(s.qos == 1);
    CHECK(s.retain == false);
    CHECK(s.client_id == "c");

    for (const char* bad : {"topic=a/%2B", "filter=a/%23/b", "topic=a&filter=b", "qos=3",
                            "retain=yes", "after=yesterday", "where=x", "contains="}) {
        INFO(bad);
        Result<ParamReader> p = ParamReader::parse(bad);
        REQUIRE(p.is_ok());
        MessageSelection ignored;
        read_selection(p.value(), ignored);
        CHECK_FALSE(p.value().finish().is_ok());
    }
}

TEST_CASE("selection SQL carries every value as a parameter", "[http]") {
    const std::string hostile = "x'); DROP TABLE culex.topics; --";
    MessageSelection s;
    s.topic = hostile;
    s.payload_contains = hostile;
    s.payload_like = hostile;
    s.client_id = hostile;
    s.json.push_back({{"a"}, JsonOp::kGt, "\"" + hostile + "\""});
    SqlParams params;
    const std::string sql = selection_sql(s, RowState::kLive, params);
    CHECK(sql.find("DROP") == std::string::npos);
    CHECK(params.values().size() == 6);
    CHECK(sql.find("$6") != std::string::npos);
}

TEST_CASE("topic filters become anchored regular expressions", "[http]") {
    CHECK(topic_filter_regex("#") == "^.*$");
    CHECK(topic_filter_regex("a/#") == "^a(/.*)?$");
    CHECK(topic_filter_regex("a/+/c") == "^a/[^/]*/c$");
    CHECK(topic_filter_regex("+") == "^[^/]*$");
    CHECK(topic_filter_regex("a.b/(x)") == "^a\\.b/\\(x\\)$");
    CHECK(topic_filter_regex("é/+") == "^é/[^/]*$");
}
