// PostgreSQL goes away for 30 s while devices keep publishing: every message is still
// stored exactly once, in per-client order, and the broker keeps acknowledging.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "support/fixture.h"
#include "support/publisher.h"

using namespace culex::test;
using namespace std::chrono_literals;

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
    CHECK(stored_count(*db) == total);
    CHECK(query_value(*db, "SELECT count(DISTINCT payload) FROM culex.message_store") ==
          std::to_string(total));
    // Per-client order: the sequence numbers in the payloads rise with the row id.
    CHECK(query_value(*db,
                      "SELECT count(*) FROM (SELECT n, lag(n) OVER (PARTITION BY client_id ORDER "
                      "BY id) AS prev"
                      " FROM (SELECT id, client_id,"
                      " split_part(convert_from(payload, 'UTF8'), ':', 2)::bigint AS n"
                      " FROM culex.message_store) numbered) pairs WHERE n <> prev + 1") == "0");
    CHECK(query_value(*db,
                      "SELECT min(split_part(convert_from(payload, 'UTF8'), ':', 2)::bigint)"
                      " FROM culex.message_store") == "0");
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
