// HTTP to MQTT: what apps publish over HTTP reaches subscribers (with MQTT 5 properties)
// and is stored; timestamps, time, random values and UUIDs.
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <rapidjson/document.h>
#include <catch2/catch.hpp>

#include <mutex>
#include <regex>
#include <set>
#include <vector>

#include "culex/clock.h"
#include "http/base64.h"
#include "http/time_text.h"
#include "support/fixture.h"
#include "support/http_client.h"

using namespace culex::test;

namespace {

constexpr const char* kToken = "bridge-admin-token-0123456789";

struct Received {
    std::string topic;
    std::string payload;
    int qos = 0;
    bool retain = false;
    std::vector<std::pair<std::string, std::string>> user_properties;
    std::string content_type;
};

// An MQTT 5 subscriber that keeps what it receives.
class Subscriber {
  public:
    Subscriber(int port, const std::string& filter) {
        mosquitto_lib_init();
        mosq_ = mosquitto_new(nullptr, true, this);
        REQUIRE(mosq_ != nullptr);
        mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
        mosquitto_subscribe_callback_set(mosq_, [](mosquitto*, void* self, int, int, const int*) {
            static_cast<Subscriber*>(self)->subscribed_ = true;
        });
        mosquitto_message_v5_callback_set(mosq_, on_message);
        REQUIRE(mosquitto_connect(mosq_, "127.0.0.1", port, 60) == MOSQ_ERR_SUCCESS);
        REQUIRE(mosquitto_loop_start(mosq_) == MOSQ_ERR_SUCCESS);
        REQUIRE(mosquitto_subscribe(mosq_, nullptr, filter.c_str(), 2) == MOSQ_ERR_SUCCESS);
        REQUIRE(wait_until([this] { return subscribed_.load(); }, std::chrono::seconds(10)));
    }
    ~Subscriber() {
        mosquitto_disconnect(mosq_);
        mosquitto_loop_stop(mosq_, false);
        mosquitto_destroy(mosq_);
    }
    std::vector<Received> received() {
        std::lock_guard<std::mutex> lock(mu_);
        return received_;
    }
    size_t count() {
        std::lock_guard<std::mutex> lock(mu_);
        return received_.size();
    }

  private:
    static void on_message(mosquitto*, void* self, const mosquitto_message* m,
                           const mosquitto_property* props) {
        Received r;
        r.topic = m->topic;
        r.payload.assign(static_cast<const char*>(m->payload), static_cast<size_t>(m->payloadlen));
        r.qos = m->qos;
        r.retain = m->retain;
        for (const mosquitto_property* p = props; p != nullptr; p = mosquitto_property_next(p)) {
            if (mosquitto_property_identifier(p) == MQTT_PROP_USER_PROPERTY) {
                char* name = nullptr;
                char* value = nullptr;
                mosquitto_property_read_string_pair(p, MQTT_PROP_USER_PROPERTY, &name, &value,
                                                    false);
                r.user_properties.emplace_back(name, value);
                free(name);
                free(value);
            } else if (mosquitto_property_identifier(p) == MQTT_PROP_CONTENT_TYPE) {
                char* value = nullptr;
                mosquitto_property_read_string(p, MQTT_PROP_CONTENT_TYPE, &value, false);
                r.content_type = value;
                free(value);
            }
        }
        auto* s = static_cast<Subscriber*>(self);
        std::lock_guard<std::mutex> lock(s->mu_);
        s->received_.push_back(std::move(r));
    }

    mosquitto* mosq_ = nullptr;
    std::atomic<bool> subscribed_{false};
    std::mutex mu_;
    std::vector<Received> received_;
};

struct BridgeBroker {
    std::string db = cluster().create_database();
    int http_port = free_port();
    std::string base = "http://127.0.0.1:" + std::to_string(http_port);
    BrokerProcess broker{
        plugin_opts_for(db, {{"http_listen", "127.0.0.1:" + std::to_string(http_port)},
                             {"admin_token", kToken},
                             {"timestamp_topic", "clock/now"},
                             {"timestamp_interval", "1"}})};
    BridgeBroker() {
        REQUIRE(broker.wait_ready());
        HttpClient probe(base);
        REQUIRE(wait_until([&] { return probe.get("/readyz").status == 200; },
                           std::chrono::seconds(30)));
    }
};

BridgeBroker& bridge() {
    static BridgeBroker instance;
    return instance;
}

rapidjson::Document json(const HttpReply& reply) {
    rapidjson::Document doc;
    doc.Parse(reply.body.c_str(), reply.body.size());
    INFO(reply.body);
    REQUIRE_FALSE(doc.HasParseError());
    return doc;
}

}  // namespace

TEST_CASE("HTTP publish reaches MQTT subscribers with its properties and is stored", "[bridge]") {
    BridgeBroker& b = bridge();
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

TEST_CASE("HTTP publish refuses bad input", "[bridge]") {
    BridgeBroker& b = bridge();
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
    BridgeBroker& b = bridge();
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
    HttpClient nobody(bridge().base);
    CHECK(nobody.get("/api/v1/uuid").status == 401);
}
