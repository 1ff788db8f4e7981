#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/topic_filter.h"
#include "common/utf8.h"

using culex::is_valid_utf8;
using culex::topic_matches;
using culex::validate_topic_filter;

TEST_CASE("valid topic filters are accepted", "[topic_filter]") {
    for (const char* f : {"#", "+", "a/b", "a/+/c", "a/#", "+/+", "/", "a//b", "$SYS/#", "é/ü"}) {
        INFO(f);
        CHECK(validate_topic_filter(f).is_ok());
    }
}

TEST_CASE("invalid topic filters are refused with a reason", "[topic_filter]") {
    CHECK(validate_topic_filter("").message() == "topic filter is empty");
    CHECK(!validate_topic_filter("a/#/b").is_ok());
    CHECK(!validate_topic_filter("a#").is_ok());
    CHECK(!validate_topic_filter("a/b+").is_ok());
    CHECK(!validate_topic_filter("+a").is_ok());
    CHECK(!validate_topic_filter(std::string("a\0b", 3)).is_ok());
    CHECK(!validate_topic_filter("\xff").is_ok());
    CHECK(!validate_topic_filter(std::string(65536, 'a')).is_ok());
    CHECK(validate_topic_filter(std::string(65535, 'a')).is_ok());
}

TEST_CASE("topic matching follows MQTT wildcard rules", "[topic_filter]") {
    CHECK(topic_matches("a/b", "a/b"));
    CHECK_FALSE(topic_matches("a/b", "a/c"));
    CHECK_FALSE(topic_matches("a/b", "a/b/c"));
    CHECK_FALSE(topic_matches("a/b/c", "a/b"));
    CHECK(topic_matches("a/+", "a/b"));
    CHECK(topic_matches("a/+", "a/"));
    CHECK_FALSE(topic_matches("a/+", "a/b/c"));
    CHECK_FALSE(topic_matches("a/+", "a"));
    CHECK(topic_matches("a/#", "a"));
    CHECK(topic_matches("a/#", "a/b/c"));
    CHECK_FALSE(topic_matches("a/#", "ab"));
    CHECK(topic_matches("#", "a/b"));
    CHECK(topic_matches("#", "/"));
    CHECK(topic_matches("+/+", "/"));
    CHECK(topic_matches("/+", "/x"));
    CHECK(topic_matches("+/b/#", "x/b"));
    CHECK_FALSE(topic_matches("#", "$SYS/x"));
    CHECK_FALSE(topic_matches("+/x", "$SYS/x"));
    CHECK(topic_matches("$SYS/#", "$SYS/x"));
}

TEST_CASE("UTF-8 validation rejects malformed sequences", "[topic_filter]") {
    CHECK(is_valid_utf8("plain"));
    CHECK(is_valid_utf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
    CHECK_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong '/'
    CHECK_FALSE(is_valid_utf8("\xed\xa0\x80"));      // surrogate
    CHECK_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
    CHECK_FALSE(is_valid_utf8("\xe2\x82"));          // truncated
}

TEST_CASE("topic names are filters without wildcards", "[topic_filter]") {
    using culex::validate_topic_name;
    CHECK(validate_topic_name("a/b").is_ok());
    CHECK(validate_topic_name("$SYS/x").is_ok());
    CHECK(validate_topic_name("").message() == "topic name is empty");
    CHECK(!validate_topic_name("a/+").is_ok());
    CHECK(!validate_topic_name("#").is_ok());
    CHECK(!validate_topic_name("\xc3").is_ok());
}

TEST_CASE("filter_covers says when one filter's topics are all inside another's",
          "[topic_filter]") {
    using culex::filter_covers;
    CHECK(filter_covers("#", "a/b"));
    CHECK(filter_covers("#", "+/b/#"));
    CHECK(filter_covers("a/#", "a"));
    CHECK(filter_covers("a/#", "a/#"));
    CHECK(filter_covers("a/#", "a/+/c"));
    CHECK(filter_covers("a/+", "a/b"));
    CHECK(filter_covers("a/+", "a/+"));
    CHECK(filter_covers("a/b", "a/b"));
    CHECK_FALSE(filter_covers("a/+", "a/#"));
    CHECK_FALSE(filter_covers("a/+", "a"));
    CHECK_FALSE(filter_covers("a/b", "a/+"));
    CHECK_FALSE(filter_covers("a/b", "a/b/c"));
    CHECK_FALSE(filter_covers("a/b/c", "a/b"));
    CHECK_FALSE(filter_covers("sensors/#", "#"));
    CHECK_FALSE(filter_covers("#", "$SYS/x"));
    CHECK_FALSE(filter_covers("+/x", "$SYS/x"));
    CHECK(filter_covers("$SYS/#", "$SYS/x"));
}

TEST_CASE("filter_covers agrees with topic_matches on every small topic", "[topic_filter]") {
    // Property: covers(outer, inner) and inner matches t imply outer matches t. Checked
    // over all filters and topics of up to three levels from a small alphabet.
    const std::vector<std::string> levels = {"a", "b", "+", "#", "$s"};
    std::vector<std::string> filters;
    std::vector<std::string> topics;
    for (const auto& l1 : levels) {
        filters.push_back(l1);
        for (const auto& l2 : levels) {
            filters.push_back(l1 + "/" + l2);
            for (const auto& l3 : levels)
                filters.push_back(l1 + "/" + l2 + "/" + l3);
        }
    }
    for (const auto& f : filters) {
        if (culex::validate_topic_name(f).is_ok())
            topics.push_back(f);
    }
    size_t covering_pairs = 0;
    for (const auto& outer : filters) {
        if (!validate_topic_filter(outer).is_ok())
            continue;
        for (const auto& inner : filters) {
            if (!validate_topic_filter(inner).is_ok() || !culex::filter_covers(outer, inner))
                continue;
            ++covering_pairs;
            for (const auto& t : topics) {
                if (topic_matches(inner, t)) {
                    INFO(outer << " covers " << inner << " but not topic " << t);
                    REQUIRE(topic_matches(outer, t));
                }
            }
        }
    }
    CHECK(covering_pairs > 100);
}
