#include <catch2/catch.hpp>
#include <random>
#include <string>

#include "common/client_pattern.h"

using culex::ClientPattern;
using culex::ClientPatterns;

namespace {

bool matches(const std::string& pattern, const std::string& id) {
    culex::Result<ClientPattern> p = ClientPattern::parse(pattern);
    REQUIRE(p.is_ok());
    return p.value().matches(id);
}

// The definition, by backtracking: obviously right, too slow for the broker thread.
bool reference(std::string_view pattern, std::string_view id) {
    if (pattern.empty())
        return id.empty();
    if (pattern[0] == '*') {
        for (size_t skip = 0; skip <= id.size(); ++skip) {
            if (reference(pattern.substr(1), id.substr(skip)))
                return true;
        }
        return false;
    }
    return !id.empty() && id[0] == pattern[0] && reference(pattern.substr(1), id.substr(1));
}

}  // namespace

TEST_CASE("a pattern without stars matches only the same id", "[client_pattern]") {
    CHECK(matches("sensor-1", "sensor-1"));
    CHECK_FALSE(matches("sensor-1", "sensor-10"));
    CHECK_FALSE(matches("sensor-1", "xsensor-1"));
    CHECK_FALSE(matches("sensor-1", ""));
    // Only `*` is special: MQTT wildcards and regex characters are literal.
    CHECK(matches("a+b#.?[x]", "a+b#.?[x]"));
    CHECK_FALSE(matches("a?c", "abc"));
    CHECK_FALSE(matches("a+", "ab"));
}

TEST_CASE("a star matches any run of characters, none included", "[client_pattern]") {
    CHECK(matches("*", ""));
    CHECK(matches("*", "anything at all"));
    CHECK(matches("**", "x"));
    CHECK(matches("bridge-*", "bridge-"));
    CHECK(matches("bridge-*", "bridge-b-to-a"));
    CHECK_FALSE(matches("bridge-*", "bridge"));
    CHECK_FALSE(matches("bridge-*", "a-bridge-b"));
    CHECK(matches("*.to_a", "host-b.to_a"));
    CHECK(matches("*.to_a", "local.host-b.to_a"));
    CHECK_FALSE(matches("*.to_a", "host-b.to_a2"));
    CHECK(matches("local.*.to_*", "local.h.to_a"));
    CHECK_FALSE(matches("local.*.to_*", "local.to_a"));
    // The ends must not overlap: "ab*ba" needs at least four characters.
    CHECK_FALSE(matches("ab*ba", "aba"));
    CHECK(matches("ab*ba", "abba"));
    CHECK(matches("a*b*c", "abc"));
    CHECK(matches("a*b*c", "aXbYbZc"));
    CHECK_FALSE(matches("a*b*c", "acb"));
    CHECK(matches("*a*a*", "aa"));
    CHECK_FALSE(matches("*a*a*", "ba"));
}

TEST_CASE("bad patterns are refused with a reason", "[client_pattern]") {
    CHECK(ClientPattern::parse("").status().message() ==
          "expected a pattern of 1 to 1024 characters");
    CHECK(ClientPattern::parse(std::string(1024, 'a')).is_ok());
    CHECK_FALSE(ClientPattern::parse(std::string(1025, 'a')).is_ok());
    CHECK(ClientPattern::parse("a\tb").status().message() ==
          "control characters are not allowed in a pattern");
    CHECK_FALSE(ClientPattern::parse(std::string("a\0b", 3)).is_ok());
    CHECK_FALSE(ClientPattern::parse("a\x7f").is_ok());
    CHECK(ClientPattern::parse("with space").is_ok());
    CHECK(ClientPattern::parse("é*").is_ok());
}

TEST_CASE("a pattern list matches when one of its patterns does", "[client_pattern]") {
    ClientPatterns none;
    CHECK(none.empty());
    CHECK_FALSE(none.matches("x"));
    CHECK_FALSE(none.matches(""));
    ClientPatterns some;
    some.add(ClientPattern::parse("bridge-*").value());
    some.add(ClientPattern::parse("*.to_a").value());
    CHECK(some.matches("bridge-x"));
    CHECK(some.matches("h.to_a"));
    CHECK_FALSE(some.matches("device-1"));
}

TEST_CASE("matching agrees with the definition on random patterns and ids", "[client_pattern]") {
    std::mt19937 rng(20240511);
    const std::string alphabet = "ab*";
    auto random_text = [&](size_t max, bool stars) {
        std::string s(rng() % (max + 1), 'a');
        for (char& c : s)
            c = alphabet[rng() % (stars ? 3 : 2)];
        return s;
    };
    for (int i = 0; i < 20000; ++i) {
        std::string pattern = random_text(7, true);
        if (pattern.empty())
            pattern = "*";
        const std::string id = random_text(9, false);
        INFO(pattern << " ~ " << id);
        CHECK(matches(pattern, id) == reference(pattern, id));
    }
}
