// Devices publish every kind of message; every stored row must match byte for byte.
#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <thread>

#include "support/fixture.h"

using namespace culex::test;

namespace {

struct Sent {
    std::string topic;
    std::string payload;
    int qos;
    bool retain;
};

struct Stored {
    std::string topic;
    std::string payload;
    int qos;
    bool retain;
    std::string username;  // "<null>" when NULL
    bool has_json;
    std::string json_text;
};

std::map<std::string, std::vector<Stored>> stored_by_client(culex::PgConnection& db) {
    culex::PgOutcome rows = db.exec(
        "SELECT client_id, topic, encode(payload, 'hex'), qos, retain,"
        " coalesce(username, '<null>'), payload_json IS NOT NULL, coalesce(payload_json::text, '')"
        " FROM culex.messages ORDER BY id");
    REQUIRE(rows.ok());
    std::map<std::string, std::vector<Stored>> out;
    for (int i = 0; i < PQntuples(rows.result.get()); ++i) {
        auto v = [&](int c) { return std::string(PQgetvalue(rows.result.get(), i, c)); };
        out[v(0)].push_back(
            Stored{v(1), from_hex(v(2)), std::stoi(v(3)), v(4) == "t", v(5), v(6) == "t", v(7)});
    }
    return out;
}

std::string random_bytes(size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s)
        c = static_cast<char>(rng() & 0xff);
    return s;
}

}  // namespace

TEST_CASE("every message is stored exactly, in order per client", "[ingest]") {
    std::string dbname = cluster().create_database();
    BrokerProcess broker(plugin_opts_for(dbname));
    REQUIRE(broker.wait_ready());

    std::string all_bytes;
    for (int b = 0; b < 256; ++b)
        all_bytes.push_back(static_cast<char>(b));
    std::string long_topic = "a";
    while (long_topic.size() < 65535)
        long_topic += "\xc3\xa9";  // 'é', 2 bytes

    std::map<std::string, std::vector<Sent>> sent;
    sent["dev-a"] = {
        {"bin/all-bytes", all_bytes, 0, false},
        {"bin/nul", std::string("\0\0x\0", 4), 1, false},
        {"empty/q0", "", 0, false},
        {"empty/q1", "", 1, false},
        {"empty/q2", "", 2, false},
        {"big/1mib", random_bytes(1 << 20, 7), 1, false},
        {long_topic, "long topic", 2, false},
        {"retained/state", "on", 1, true},
        {"json/reading", "{\"temp\": 21.5, \"unit\": \"C\"}", 2, false},
        {"json/not-quite", "{\"temp\": 21.5", 0, false},
        {"utf8/тема/主题", "héllo", 1, false},
        {"odd/\"quoted\" \\back\\,comma {brace}", "array-literal characters", 1, false},
        {"NULL", "a topic named like SQL's NULL", 0, false},
    };
    for (int i = 0; i < 300; ++i)
        sent["dev-b"].push_back({"order/b", "b" + std::to_string(i), i % 3, false});
    for (int i = 0; i < 300; ++i) {
        sent["dev-c"].push_back(
            {"order/c/" + std::to_string(i % 5), std::to_string(i), 1, i % 50 == 0});
    }

    {
        MqttClient a(broker.port(), "dev-a", "alice", /*v5=*/true);
        MqttClient b(broker.port(), "dev-b");
        MqttClient c(broker.port(), "dev-c", "carol");
        std::vector<std::thread> devices;
        for (auto [client, id] : {std::pair{&a, "dev-a"}, {&b, "dev-b"}, {&c, "dev-c"}}) {
            devices.emplace_back([&sent, client = client, id = std::string(id)] {
                for (const auto& m : sent[id])
                    client->publish(m.topic, m.payload, m.qos, m.retain);
            });
        }
        for (auto& t : devices)
            t.join();
        REQUIRE(a.wait_acked());
        REQUIRE(b.wait_acked());
        REQUIRE(c.wait_acked());
    }

    long total = 0;
    for (const auto& [client, list] : sent)
        total += static_cast<long>(list.size());
    auto db = cluster().connect(dbname);
    bool all_stored = wait_stored(*db, total, std::chrono::seconds(60));
    INFO(broker.log());
    REQUIRE(all_stored);
    CHECK(stored_count(*db) == total);

    auto stored = stored_by_client(*db);
    const std::map<std::string, std::string> usernames = {
        {"dev-a", "alice"}, {"dev-b", "<null>"}, {"dev-c", "carol"}};
    for (const auto& [client, list] : sent) {
        INFO("client " << client);
        REQUIRE(stored[client].size() == list.size());
        for (size_t i = 0; i < list.size(); ++i) {
            INFO("message " << i << " on " << list[i].topic.substr(0, 40));
            const Stored& row = stored[client][i];
            CHECK(row.topic == list[i].topic);
            CHECK(row.payload == list[i].payload);
            CHECK(row.qos == list[i].qos);
            CHECK(row.retain == list[i].retain);
            CHECK(row.username == usernames.at(client));
        }
    }
    const auto& a_rows = stored["dev-a"];
    CHECK(a_rows[8].has_json);
    CHECK(a_rows[8].json_text == "{\"temp\": 21.5, \"unit\": \"C\"}");
    CHECK_FALSE(a_rows[9].has_json);
    CHECK_FALSE(a_rows[0].has_json);

    CHECK(broker.terminate(std::chrono::seconds(30)) == 0);
}

TEST_CASE("store_topics and exclude_topics decide what is stored", "[ingest]") {
    std::string dbname = cluster().create_database();
    BrokerProcess broker(plugin_opts_for(dbname, {{"store_topics", "sensors/#"},
                                                  {"store_topics", "marker"},
                                                  {"exclude_topics", "sensors/debug/#"}}));
    REQUIRE(broker.wait_ready());
    {
        MqttClient device(broker.port(), "dev");
        device.publish("sensors/t1", "1", 1);
        device.publish("sensors/debug/t1", "2", 1);
        device.publish("other/t1", "3", 1);
        device.publish("marker", "last", 1);  // stored after the others, in order
        REQUIRE(device.wait_acked());
    }
    auto db = cluster().connect(dbname);
    REQUIRE(wait_until(
        [&] {
            return stored_count(*db) >= 0 &&
                   query_value(*db, "SELECT count(*) FROM culex.messages WHERE topic = 'marker'") ==
                       "1";
        },
        std::chrono::seconds(30)));
    CHECK(query_value(*db, "SELECT string_agg(topic, ',' ORDER BY id) FROM culex.messages") ==
          "sensors/t1,marker");
}
