#include <catch2/catch.hpp>
#include <string>

#include "storage/topic_filter.h"

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
