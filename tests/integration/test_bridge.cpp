// HTTP to MQTT: what apps publish over HTTP reaches subscribers (with MQTT 5 properties)
// and is stored; timestamps, time, random values and UUIDs.
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <rapidjson/document.h>
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <regex>
#include <set>
#include <thread>
#include <vector>

#include "common/base64.h"
#include "common/clock.h"
#include "common/time_text.h"
#include "support/api_broker.h"
#include "support/fixture.h"
#include "support/http_client.h"
#include "support/mqtt_subscriber.h"
#include "support/stream_reader.h"

using namespace culex::test;

namespace {

constexpr const char* kToken = "bridge-admin-token-0123456789";

ApiBroker& bridge() {
    static ApiBroker instance(kToken, {{"timestamp_topic", "clock/now"},
                                       {"timestamp_interval", "1"},
                                       {"stream_max_queue", "50"}});
    return instance;
}

}  // namespace

TEST_CASE("HTTP publish reaches MQTT subscribers with its properties and is stored", "[bridge]") {
    ApiBroker& b = bridge();
    HttpClient http(b.base, kToken);
    Subscriber sub(b.broker.port(), "bridge/#");
    HttpReply r = http.post_json("/api/v1/publish", R"({"topic": "bridge/a", "payload": "hello",
        "qos": 1, "user_properties": {"source": "test", "n": "1"},
        "content_type": "text/plain", "message_expiry": 60})");
    REQUIRE(r.status == 200);
    CHECK(json(r)["published"].GetBool());
    std::string all_bytes;
    for (int i = 0; i < 256; ++i)
        all_bytes += static_cast<char>(i);
    REQUIRE(http.post_json("/api/v1/publish", "{\"topic\": \"bridge/bin\", \"payload_base64\": \"" +
                                                  culex::base64_encode(all_bytes) + "\"}")
                .status == 200);
    REQUIRE(wait_until([&] { return sub.count() >= 2; }, std::chrono::seconds(10)));
    std::vector<Received> got = sub.received();
    CHECK(got[0].topic == "bridge/a");
    CHECK(got[0].payload == "hello");
    CHECK(got[0].qos == 1);
    CHECK(got[0].content_type == "text/plain");
    CHECK(got[0].user_properties ==
          std::vector<std::pair<std::string, std::string>>{{"source", "test"}, {"n", "1"}});
    CHECK(got[1].topic == "bridge/bin");
    CHECK(got[1].payload == all_bytes);

    auto db = cluster().connect(b.db);
    REQUIRE(wait_until(
        [&] {
            return query_value(*db,
                               "SELECT count(*) FROM culex.messages WHERE topic LIKE 'bridge/%'") ==
                   "2";
        },
        std::chrono::seconds(30)));
    CHECK(query_value(*db,
                      "SELECT client_id || ' ' || username || ' ' || qos FROM culex.messages"
                      " WHERE topic = 'bridge/a'") == "http admin (configured) 1");
    CHECK(from_hex(query_value(
              *db, "SELECT payload FROM culex.messages WHERE topic = 'bridge/bin'")) == all_bytes);
}

TEST_CASE("an API insert can also be published; it is stored once", "[bridge]") {
    ApiBroker& b = bridge();
    HttpClient http(b.base, kToken);
    Subscriber sub(b.broker.port(), "insert/#");
    HttpReply r = http.post_json("/api/v1/messages",
                                 R"({"topic": "insert/a", "payload": "both", "publish": true})");
    REQUIRE(r.status == 201);
    CHECK(json(r)["published"].GetBool());
    REQUIRE(wait_until([&] { return sub.count() == 1; }, std::chrono::seconds(10)));
    CHECK(sub.received()[0].payload == "both");
    auto db = cluster().connect(b.db);
    // A marker published after it goes through the same outbox and writer queue: once the
    // marker is stored, a second copy of the insert would be too.
    REQUIRE(
        http.post_json("/api/v1/publish", R"({"topic": "insert/marker", "payload": "m"})").status ==
        200);
    REQUIRE(wait_until(
        [&] {
            return query_value(
                       *db, "SELECT count(*) FROM culex.messages WHERE topic = 'insert/marker'") ==
                   "1";
        },
        std::chrono::seconds(30)));
    CHECK(query_value(*db, "SELECT count(*) FROM culex.messages WHERE topic = 'insert/a'") == "1");
    CHECK(
        http.post_json("/api/v1/messages", R"({"topic": "insert/a", "payload": "x", "publish": 1})")
            .status == 400);
}

TEST_CASE("HTTP publish refuses bad input", "[bridge]") {
    ApiBroker& b = bridge();
    HttpClient http(b.base, kToken);
    for (const std::string& body : std::vector<std::string>{
             R"({"topic": "a/+", "payload": "x"})", R"({"topic": "a/#", "payload": "x"})",
             R"({"topic": "$SYS/x", "payload": "x"})", R"({"topic": "", "payload": "x"})",
             R"({"payload": "x"})", R"({"topic": "a"})",
             R"({"topic": "a", "payload_base64": "%%%"})",
             R"({"topic": "a", "payload": "x", "qos": 3})",
             R"({"topic": "a", "payload": "x", "retain": 1})",
             R"({"topic": "a", "payload": "x", "user_properties": {"k": 1}})",
             R"({"topic": "a", "payload": "x", "user_properties": []})",
             R"({"topic": "a", "payload": "x", "message_expiry": 0})",
             R"({"topic": "a", "payload": "x", "message_expiry": -5})",
             R"({"topic": "a", "payload": "x", "content_type": 7})",
             R"({"topic": "a", "payload": "x", "extra": true})", R"({"topic": )"}) {
        INFO(body);
        HttpReply r = http.post_json("/api/v1/publish", body);
        CHECK(r.status == 400);
        CHECK(r.content_type == "application/problem+json");
    }
    CHECK(http.post_json("/api/v1/publish",
                         "{\"topic\": \"a\", \"payload\": \"" + std::string(1100000, 'x') + "\"}")
              .status == 413);
    HttpReply made = http.post_json(
        "/api/v1/tokens",
        R"({"name": "pub-limited", "scopes": ["write"], "topic_filters": ["ok/#"]})");
    REQUIRE(made.status == 201);
    HttpClient limited(b.base, json(made)["token"].GetString());
    CHECK(limited.post_json("/api/v1/publish", R"({"topic": "ok/1", "payload": "x"})").status ==
          200);
    CHECK(limited.post_json("/api/v1/publish", R"({"topic": "no/1", "payload": "x"})").status ==
          403);
    CHECK(limited.post_json("/api/v1/timestamp", "").status == 403);
    HttpClient nobody(b.base);
    CHECK(nobody.post_json("/api/v1/publish", R"({"topic": "ok/1", "payload": "x"})").status ==
          401);
}

TEST_CASE("timestamps arrive at the configured interval, and on demand", "[bridge]") {
    ApiBroker& b = bridge();
    Subscriber sub(b.broker.port(), "clock/now");
    REQUIRE(wait_until([&] { return sub.count() >= 3; }, std::chrono::seconds(10)));
    std::vector<Received> ticks = sub.received();
    for (size_t i = 1; i < 3; ++i) {
        const long gap = std::stol(ticks[i].payload) - std::stol(ticks[i - 1].payload);
        INFO("gap " << gap << " ms");
        // timestamp_interval is 1 s; the broker loop wakes at least every 100 ms.
        CHECK(gap >= 900);
        CHECK(gap <= 1500);
    }
    HttpClient http(b.base, kToken);
    const size_t before = sub.count();
    HttpReply r = http.post_json("/api/v1/timestamp", "");
    REQUIRE(r.status == 200);
    const long long stamped = json(r)["timestamp"].GetInt64();
    REQUIRE(wait_until(
        [&] {
            for (const Received& m : sub.received())
                if (m.payload == std::to_string(stamped))
                    return true;
            return false;
        },
        std::chrono::seconds(5)));
    CHECK(sub.count() > before);
}

TEST_CASE("time, random values and UUIDs", "[bridge]") {
    HttpClient http(bridge().base, kToken);
    rapidjson::Document t = json(http.get("/api/v1/time"));
    CHECK(t["epoch_ms"].GetInt64() == t["epoch_us"].GetInt64() / 1000);
    CHECK(culex::parse_time_us(t["rfc3339"].GetString()) == t["epoch_us"].GetInt64());
    CHECK(t["received_us"].GetInt64() <= t["sent_us"].GetInt64());
    CHECK(std::abs(t["epoch_us"].GetInt64() - culex::wall_clock_us()) < 60000000);

    rapidjson::Document s = json(http.get("/api/v1/random/string?length=40&charset=hex&count=5"));
    REQUIRE(s["values"].Size() == 5);
    std::set<std::string> distinct;
    for (const auto& v : s["values"].GetArray()) {
        const std::string text = v.GetString();
        CHECK(text.size() == 40);
        CHECK(text.find_first_not_of("0123456789abcdef") == std::string::npos);
        distinct.insert(text);
    }
    CHECK(distinct.size() == 5);
    CHECK(std::string(json(http.get("/api/v1/random/string"))["values"][0].GetString()).size() ==
          16);
    rapidjson::Document n = json(http.get("/api/v1/random/integer?min=-3&max=3&count=1000"));
    std::set<long> seen;
    for (const auto& v : n["values"].GetArray()) {
        CHECK(v.GetInt64() >= -3);
        CHECK(v.GetInt64() <= 3);
        seen.insert(v.GetInt64());
    }
    CHECK(seen.size() == 7);
    CHECK(http.get("/api/v1/random/integer?min=-9223372036854775808&max=9223372036854775807")
              .status == 200);
    rapidjson::Document u4 = json(http.get("/api/v1/uuid?count=3"));
    rapidjson::Document u1 = json(http.get("/api/v1/uuid?version=1"));
    const std::regex v4("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
    const std::regex v1("^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
    REQUIRE(u4["uuids"].Size() == 3);
    for (const auto& v : u4["uuids"].GetArray())
        CHECK(std::regex_match(v.GetString(), v4));
    CHECK(std::regex_match(u1["uuids"][0].GetString(), v1));

    for (const std::string bad :
         {"/api/v1/random/string?length=0", "/api/v1/random/string?length=1000000000",
          "/api/v1/random/string?count=0", "/api/v1/random/string?count=1001",
          "/api/v1/random/string?charset=emoji", "/api/v1/random/string?size=3",
          "/api/v1/random/integer?min=5&max=4", "/api/v1/random/integer?max=1e3",
          "/api/v1/random/integer?count=100000", "/api/v1/uuid?version=2", "/api/v1/uuid?count=0",
          "/api/v1/time?x=1"}) {
        INFO(bad);
        HttpReply r = http.get(bad);
        CHECK(r.status == 400);
        CHECK(r.content_type == "application/problem+json");
    }
    // Every unsupported version gets the same wording, whatever its kind.
    for (const std::string version : {"2", "7", "0", "x", "4.0"}) {
        HttpReply r = http.get("/api/v1/uuid?version=" + version);
        INFO(version << " -> " << r.body);
        CHECK(r.status == 400);
        CHECK(r.body.find("parameter 'version' must be 4 (random) or 1 (time-based), not '" +
                          version + "'") != std::string::npos);
    }
    HttpClient nobody(bridge().base);
    CHECK(nobody.get("/api/v1/uuid").status == 401);
}

TEST_CASE("the live stream delivers in order and resumes with Last-Event-ID", "[bridge][stream]") {
    ApiBroker& b = bridge();
    const std::string url = b.base + "/api/v1/stream?filter=stream%2F%23";
    MqttClient device(b.broker.port(), "stream-device");
    std::string last_seen;
    {
        StreamReader reader(url, kToken);
        REQUIRE(wait_until(
            [&] { return reader.text().find(": culex live stream") != std::string::npos; },
            std::chrono::seconds(10)));
        for (int i = 0; i < 20; ++i) {
            device.publish("stream/a", "s" + std::to_string(i), 1);
            device.publish("elsewhere/a", "x" + std::to_string(i), 1);
        }
        REQUIRE(device.wait_acked());
        REQUIRE(wait_until([&] { return reader.events().size() >= 20; }, std::chrono::seconds(10)));
        auto events = reader.events();
        REQUIRE(events.size() == 20);
        for (int i = 0; i < 20; ++i)
            CHECK(events[static_cast<size_t>(i)].second == "s" + std::to_string(i));
        last_seen = events.back().first;
    }
    // Missed while disconnected: replayed from storage, then live again. A record inserted
    // over HTTP meanwhile is not an arrival: not replayed (nor sent live, below).
    HttpClient inserter(b.base, kToken);
    for (int i = 20; i < 50; ++i) {
        device.publish("stream/a", "s" + std::to_string(i), 1);
        if (i == 30) {
            REQUIRE(device.wait_acked());
            REQUIRE(inserter
                        .post_json("/api/v1/messages",
                                   R"({"topic": "stream/a", "payload": "inserted"})")
                        .status == 201);
        }
    }
    REQUIRE(device.wait_acked());
    StreamReader again(url, kToken, last_seen);
    REQUIRE(wait_until([&] { return again.events().size() >= 30; }, std::chrono::seconds(10)));
    REQUIRE(
        inserter
            .post_json("/api/v1/messages", R"({"topic": "stream/a", "payload": "inserted live"})")
            .status == 201);
    device.publish("stream/a", "s50", 1);
    REQUIRE(device.wait_acked());
    REQUIRE(wait_until([&] { return again.events().size() >= 31; }, std::chrono::seconds(10)));
    auto events = again.events();
    REQUIRE(events.size() == 31);
    for (int i = 0; i < 31; ++i)
        CHECK(events[static_cast<size_t>(i)].second == "s" + std::to_string(i + 20));

    HttpClient http(b.base, kToken);
    CHECK(http.get("/api/v1/stream?filter=a%2F%23%2Fb").status == 400);
    CHECK(http.get("/api/v1/stream?last_event_id=nonsense").status == 400);
    CHECK(http.get("/api/v1/stream?x=1").status == 400);
    HttpClient nobody(b.base);
    CHECK(nobody.get("/api/v1/stream").status == 401);
}

TEST_CASE("a live-stream client that falls behind is cut off, memory bounded", "[bridge][stream]") {
    ApiBroker& b = bridge();
    // A client that sends its request and then does not read.
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(b.http_port));
    REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    const std::string request = std::string("GET /api/v1/stream?filter=slow%2F%23 HTTP/1.1\r\n") +
                                "Host: x\r\nAuthorization: Bearer " + kToken + "\r\n\r\n";
    REQUIRE(send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size()));
    HttpClient http(b.base, kToken);
    // The stream is registered once its first line can be read.
    char first[64];
    REQUIRE(recv(fd, first, sizeof first, 0) > 0);
    // 40 MB, far more than the socket buffers hold: the server's queue for this client
    // (stream_max_queue 50) overflows while the broker goes on.
    MqttClient device(b.broker.port(), "slow-device");
    const std::string big(20000, 'z');
    for (int i = 0; i < 2000; ++i)
        device.publish("slow/a", big, 1);
    REQUIRE(device.wait_acked());
    CHECK(http.get("/healthz").status == 200);
    // Reading now gets what fit, then the overflow event, then the end of the stream.
    timeval tv{30, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string tail;
    char buf[65536];
    ssize_t n;
    size_t total = 0;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
        total += static_cast<size_t>(n);
        tail.append(buf, static_cast<size_t>(n));
        if (tail.size() > 4096)
            tail.erase(0, tail.size() - 4096);
    }
    close(fd);
    INFO("read " << total << " bytes");
    CHECK(n == 0);  // the server closed the stream
    CHECK(tail.find("event: overflow") != std::string::npos);
    CHECK(total < size_t{30} << 20);
    CHECK(wait_until(
        [&] {
            return b.broker.log().find("fell more than 50 messages behind") != std::string::npos;
        },
        std::chrono::seconds(10)));
}
