// PostgreSQL goes away for 30 s while devices keep publishing: every message is still
// stored exactly once, in per-client order, and the broker keeps acknowledging.
#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "support/fixture.h"
#include "support/mqtt_subscriber.h"
#include "support/publisher.h"

using namespace culex::test;
using namespace std::chrono_literals;

namespace {

// Every one of `total` messages (payloads "<client>:<n>", n from 0 per client) stored
// once, and each client's in the order it sent them: its n rise with the row id, from 0.
void check_stored_once_in_order(culex::PgConnection& db, long total) {
    CHECK(stored_count(db) == total);
    CHECK(query_value(db, "SELECT count(DISTINCT payload) FROM culex.message_store") ==
          std::to_string(total));
    CHECK(query_value(db,
                      "SELECT count(*) FROM (SELECT n, row_number() OVER (PARTITION BY client_id"
                      " ORDER BY id) - 1 AS k FROM (SELECT id, client_id,"
                      " split_part(convert_from(payload, 'UTF8'), ':', 2)::bigint AS n"
                      " FROM culex.message_store) numbered) pairs WHERE n <> k") == "0");
}

}  // namespace

TEST_CASE("a 30 s PostgreSQL outage under load loses and duplicates nothing", "[outage]") {
    std::string dbname = cluster().create_database();
    BrokerProcess broker(plugin_opts_for(dbname, {{"batch_max_rows", "500"}}));
    REQUIRE(broker.wait_ready());
    auto db = cluster().connect(dbname);

    Publisher p1(broker.port(), "outage", "p1", 500);
    Publisher p2(broker.port(), "outage", "p2", 500);
    REQUIRE(wait_stored(*db, 1000, 30s));  // flowing before the outage

    db->close();
    PgCluster::Outage outage(cluster());
    long sent_at_stop = p1.sent() + p2.sent();
    // The outage: the length of time is the scenario, not a synchronisation.
    std::this_thread::sleep_for(30s);
    long sent_during = p1.sent() + p2.sent() - sent_at_stop;
    outage.end();
    REQUIRE(
        wait_until([&] { return p1.sent() + p2.sent() > sent_at_stop + sent_during + 2000; }, 60s));
    p1.stop();
    p2.stop();
    REQUIRE(p1.client().wait_acked());
    REQUIRE(p2.client().wait_acked());
    long total = p1.sent() + p2.sent();
    INFO("sent " << total << ", of which " << sent_during << " during the outage");
    CHECK(sent_during > 20000);  // the broker kept taking messages while the database was down

    REQUIRE(db->connect().is_ok());
    REQUIRE(wait_stored(*db, total, 120s));
    check_stored_once_in_order(*db, total);
    std::string log = broker.log();
    CHECK(log.find("Messages are kept in memory") != std::string::npos);
    CHECK(log.find("PostgreSQL is reachable again") != std::string::npos);
    CHECK(broker.terminate(30s) == 0);
}

TEST_CASE("a full queue drops, counts and logs, and keeps the stored prefix in order", "[outage]") {
    std::string dbname = cluster().create_database();
    BrokerProcess broker(
        plugin_opts_for(dbname, {{"queue_capacity", "1000"}, {"batch_max_rows", "100"}}));
    REQUIRE(broker.wait_ready());
    auto db = cluster().connect(dbname);
    REQUIRE(wait_schema_then_close(*db));
    {
        PgCluster::Outage outage(cluster());
        MqttClient device(broker.port(), "filler");
        for (int i = 0; i < 1500; ++i)
            device.publish("full/t", std::to_string(i), 1);
        REQUIRE(device.wait_acked());  // the broker acknowledges what it cannot store
    }
    REQUIRE(db->connect().is_ok());
    // The queue holds 1000; the writer holds at most one batch (100) besides.
    REQUIRE(wait_stored(*db, 1000, 60s));
    CHECK(broker.terminate(30s) == 0);
    long stored = stored_count(*db);
    CHECK(stored <= 1100);
    CHECK(query_value(*db,
                      "SELECT count(*) FROM (SELECT convert_from(payload, 'UTF8')::int AS n,"
                      " row_number() OVER (ORDER BY id) - 1 AS pos FROM culex.message_store) s"
                      " WHERE n <> pos") == "0");
    std::string log = broker.log();
    CHECK(log.find("culex: ingest queue full (queue_capacity)") != std::string::npos);
    CHECK(log.find("dropped (queue full) " + std::to_string(1500 - stored) + ",") !=
          std::string::npos);
}

TEST_CASE("an outage burst at full speed goes to the spool, not past the queue bound",
          "[outage][spool]") {
    // The scenario as found: 100,000 QoS 1 messages from four devices as fast as they go
    // into a queue of 10,000, while PostgreSQL is down and the writer backs off for up to
    // the default db_retry_max_ms between attempts.
    constexpr int kDevices = 4;
    constexpr int kPerDevice = 25000;
    const std::string dbname = cluster().create_database();
    const std::string spool_dir = make_temp_dir("culex-burst");
    chown_to(spool_dir, "mosquitto");
    BrokerProcess broker(plugin_opts_for(
        dbname,
        {{"spool_dir", spool_dir}, {"queue_capacity", "10000"}, {"db_retry_max_ms", "2000"}}));
    REQUIRE(broker.wait_ready());
    auto db = cluster().connect(dbname);
    REQUIRE(wait_schema_then_close(*db));
    {
        PgCluster::Outage outage(cluster());
        std::vector<std::unique_ptr<MqttClient>> devices;
        for (int d = 0; d < kDevices; ++d)
            devices.push_back(
                std::make_unique<MqttClient>(broker.port(), "burst" + std::to_string(d)));
        for (int i = 0; i < kPerDevice; ++i) {
            for (int d = 0; d < kDevices; ++d)
                devices[d]->publish("burst/" + std::to_string(d),
                                    std::to_string(d) + ":" + std::to_string(i), 1);
        }
        for (auto& device : devices)
            REQUIRE(device->wait_acked(120s));
    }
    REQUIRE(db->connect().is_ok());
    constexpr long kTotal = long{kDevices} * kPerDevice;
    REQUIRE(wait_stored(*db, kTotal, 120s));
    CHECK(broker.terminate(60s) == 0);
    check_stored_once_in_order(*db, kTotal);
    const std::string log = broker.log();
    INFO(log.substr(log.size() > 4000 ? log.size() - 4000 : 0));
    CHECK(log.find("not stored") == std::string::npos);
    CHECK(log.find("messages spooled to") != std::string::npos);
    CHECK(log.find("spool written back to PostgreSQL") != std::string::npos);
    remove_tree(spool_dir);
}

TEST_CASE(
    "queue_full reject_v5 refuses to MQTT 5 publishers what nothing can hold; 3.1.1 as before",
    "[outage]") {
    const std::string dbname = cluster().create_database();
    // The watcher must see every delivery: mosquitto's default max_queued_messages (1000)
    // would drop some of the 2,000 for a subscriber that falls behind on a busy machine.
    BrokerProcess broker(plugin_opts_for(dbname, {{"queue_capacity", "1000"},
                                                  {"batch_max_rows", "100"},
                                                  {"queue_full", "reject_v5"}}),
                         true, "max_queued_messages 100000\n");
    REQUIRE(broker.wait_ready());
    auto db = cluster().connect(dbname);
    REQUIRE(wait_schema_then_close(*db));
    Subscriber watcher(broker.port(), "rej/#");
    long refused_v5 = 0;
    {
        PgCluster::Outage outage(cluster());
        MqttClient v5(broker.port(), "dev-v5", "", true);
        for (int i = 0; i < 1500; ++i)
            v5.publish("rej/v5", std::to_string(i), 1);
        REQUIRE(v5.wait_acked());
        refused_v5 = v5.refused();
        MqttClient v311(broker.port(), "dev-v311");
        for (int i = 0; i < 500; ++i)
            v311.publish("rej/v311", std::to_string(i), 1);
        REQUIRE(v311.wait_acked());
        CHECK(v311.refused() == 0);  // 3.1.1 cannot be told: acknowledged, delivered, dropped
        REQUIRE(
            wait_until([&] { return watcher.count() == size_t(1500 - refused_v5 + 500); }, 30s));
    }
    REQUIRE(db->connect().is_ok());
    // The queue holds 1000 and the writer one batch of at most 100 besides.
    REQUIRE(wait_stored(*db, 1000, 60s));
    CHECK(broker.terminate(30s) == 0);
    const long stored = stored_count(*db);
    INFO("stored " << stored << ", refused " << refused_v5);
    CHECK(stored <= 1100);
    // Every v5 message was either stored or refused to its publisher; the refused ones
    // reached no subscriber either.
    CHECK(refused_v5 == 1500 - stored);
    CHECK(query_value(*db, "SELECT count(*) FROM culex.messages WHERE topic = 'rej/v311'") == "0");
    size_t v5_delivered = 0;
    for (const Received& r : watcher.received())
        v5_delivered += r.topic == "rej/v5" ? 1 : 0;
    CHECK(v5_delivered == size_t(stored));
    const std::string log = broker.log();
    CHECK(log.find("MQTT 5 message(s) refused") != std::string::npos);
    CHECK(log.find("dropped (queue full) 500, refused to MQTT 5 publishers (queue full) " +
                   std::to_string(refused_v5) + ",") != std::string::npos);
}
