#include <catch2/catch.hpp>
#include <string>

#include "common/json_check.h"

using culex::is_storable_json;

TEST_CASE("JSON documents PostgreSQL accepts are storable", "[json]") {
    for (const char* doc : {"{}", "[]", "42", "-1.5e10", "\"text\"", "true", "null",
                            " {\"a\": [1, 2, {\"b\": null}]} ", "{\"t\":\"\\u00e9\"}"}) {
        INFO(doc);
        CHECK(is_storable_json(doc));
    }
}

TEST_CASE("payloads that are not JSON, or that jsonb refuses, are not storable", "[json]") {
    CHECK_FALSE(is_storable_json(""));
    CHECK_FALSE(is_storable_json("hello"));
    CHECK_FALSE(is_storable_json("{\"a\":1} trailing"));
    CHECK_FALSE(is_storable_json(std::string("{}\0junk", 7)));
    CHECK_FALSE(is_storable_json("{\"a\":\"\\u0000\"}"));
    CHECK_FALSE(is_storable_json("{\"\\u0000\":1}"));
    CHECK_FALSE(is_storable_json("\"\xff\""));
    CHECK_FALSE(is_storable_json("\"\\ud800\""));
    CHECK_FALSE(is_storable_json("1e999999"));
    CHECK_FALSE(is_storable_json(std::string(500, '1')));
    CHECK_FALSE(is_storable_json("NaN"));
}

TEST_CASE("nesting depth is bounded", "[json]") {
    int limit = culex::kMaxStoredJsonDepth;
    CHECK(is_storable_json(std::string(limit, '[') + std::string(limit, ']')));
    CHECK_FALSE(is_storable_json(std::string(limit + 1, '[') + std::string(limit + 1, ']')));
    CHECK_FALSE(is_storable_json(std::string(1000000, '[')));
}
