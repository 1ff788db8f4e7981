#include <catch2/catch.hpp>
#include <string>

#include "storage/copy_encoder.h"

namespace {
std::string bytes(std::initializer_list<int> values) {
    std::string s;
    for (int v : values)
        s.push_back(static_cast<char>(v));
    return s;
}
}  // namespace

TEST_CASE("binary COPY stream has PostgreSQL's header and trailer", "[copy]") {
    std::string out = "stale";
    culex::begin_copy(out);
    REQUIRE(out.size() == 19);
    CHECK(out.substr(0, 11) == std::string("PGCOPY\n\xff\r\n\0", 11));
    CHECK(out.substr(11) == std::string(8, '\0'));
    culex::finish_copy(out);
    CHECK(out.substr(19) == bytes({0xff, 0xff}));
}

TEST_CASE("a row encodes every column in order, big-endian, NULLs as -1", "[copy]") {
    culex::Message m;
    m.topic = "ignored: rows carry the topic id";
    m.payload = std::string("a\0b", 3);
    m.client_id = "c1";
    m.qos = 2;
    m.retain = true;
    m.seq = 0x0102030405060708ULL;
    m.received_us = culex::kPostgresEpochOffsetUs + 1;
    std::string out;
    m.id = 0x0A0B0C0D0E0F1011LL;
    culex::append_copy_row(out, m, 0x01020304, 7, false);
    std::string expected = bytes({0, 11});
    expected += bytes({0, 0, 0, 8, 10, 11, 12, 13, 14, 15, 16, 17});  // id
    expected += bytes({0, 0, 0, 4, 1, 2, 3, 4});                      // topic_id
    expected += bytes({0, 0, 0, 3}) + std::string("a\0b", 3);         // payload
    expected += bytes({0xff, 0xff, 0xff, 0xff});                      // payload_json NULL
    expected += bytes({0, 0, 0, 2, 0, 2});                            // qos
    expected += bytes({0, 0, 0, 1, 1});                               // retain
    expected += bytes({0, 0, 0, 2}) + "c1";                           // client_id
    expected += bytes({0xff, 0xff, 0xff, 0xff});                      // username NULL
    expected += bytes({0, 0, 0, 2, 0, 7});                            // broker_id
    expected += bytes({0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8});          // seq
    expected += bytes({0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1});          // received_at
    CHECK(out == expected);
}

TEST_CASE("JSON payloads get a jsonb version byte; usernames are written when present", "[copy]") {
    culex::Message m;
    m.payload = "{}";
    m.client_id = "";
    m.username = "u";
    std::string out;
    culex::append_copy_row(out, m, 1, 1, true);
    CHECK(out.find(bytes({0, 0, 0, 3, 1}) + "{}") != std::string::npos);
    CHECK(out.find(bytes({0, 0, 0, 1}) + "u") != std::string::npos);
}
