// SIGTERM with messages still queued: the broker exits only after they are written,
// within shutdown_timeout_ms, and reports what it could not write.
#include <catch2/catch.hpp>

#include <signal.h>

#include <thread>

#include "support/fixture.h"

using namespace culex::test;
using namespace std::chrono_literals;

namespace {

void publish_acked(int port, const std::string& id, int n) {
    MqttClient device(port, id);
    for (int i = 0; i < n; ++i)
        device.publish("flush/" + id, std::to_string(i), 1);
    REQUIRE(device.wait_acked());
}

}  // namespace

TEST_CASE("SIGTERM waits for the queue to be written", "[shutdown]") {
    std::string dbname = cluster().create_database();
    BrokerProcess broker(plugin_opts_for(dbname, {{"shutdown_timeout_ms", "60000"}}));
    REQUIRE(broker.wait_ready());
    auto db = cluster().connect(dbname);
    REQUIRE(wait_schema_then_close(*db));

    // With the database down every acknowledged message is still in the queue.
    PgCluster::Outage outage(cluster());
    publish_acked(broker.port(), "d1", 3000);
    publish_acked(broker.port(), "d2", 3000);
    broker.process().signal(SIGTERM);
    REQUIRE(wait_until(
        [&] {
            return broker.log().find("culex: writing 6000 queued messages") != std::string::npos;
        },
        30s));
    CHECK(broker.process().running());  // still flushing: nothing could be written yet
    outage.end();
    CHECK(broker.process().wait(60s) == 0);

    REQUIRE(db->connect().is_ok());
    CHECK(stored_count(*db) == 6000);
    CHECK(broker.log().find("stored 6000") != std::string::npos);
}

TEST_CASE("SIGINT past shutdown_timeout_ms reports what was not written", "[shutdown]") {
    std::string dbname = cluster().create_database();
    BrokerProcess broker(plugin_opts_for(dbname, {{"shutdown_timeout_ms", "1000"}}));
    REQUIRE(broker.wait_ready());
    auto db = cluster().connect(dbname);
    REQUIRE(wait_schema_then_close(*db));

    PgCluster::Outage outage(cluster());
    publish_acked(broker.port(), "d1", 500);
    broker.process().signal(SIGINT);  // Ctrl-C takes the same path as SIGTERM
    CHECK(broker.process().wait(30s) == 0);
    outage.end();
    CHECK(broker.log().find("culex: 500 messages could not be written to PostgreSQL within "
                            "shutdown_timeout_ms") != std::string::npos);
    CHECK(broker.log().find("unwritten at shutdown 500") != std::string::npos);
}

TEST_CASE("SIGTERM during an outage spools the backlog; the next start writes it",
          "[shutdown][spool]") {
    std::string dbname = cluster().create_database();
    std::string spool_dir = make_temp_dir("culex-spool");
    chown_to(spool_dir, "mosquitto");  // the broker runs as `mosquitto` when started as root
    PluginOpts opts =
        plugin_opts_for(dbname, {{"spool_dir", spool_dir}, {"shutdown_timeout_ms", "1000"}});
    {
        BrokerProcess broker(opts);
        REQUIRE(broker.wait_ready());
        auto db = cluster().connect(dbname);
        REQUIRE(wait_schema_then_close(*db));
        PgCluster::Outage outage(cluster());
        publish_acked(broker.port(), "d1", 3000);
        CHECK(broker.terminate(30s) == 0);
        std::string log = broker.log();
        INFO(log);
        CHECK(log.find("spooled 3000,") != std::string::npos);
        CHECK(log.find("unwritten at shutdown 0.") != std::string::npos);
        CHECK(log.find("spooled batches wait in " + spool_dir) != std::string::npos);
    }
    BrokerProcess again(opts);
    REQUIRE(again.wait_ready());
    auto db = cluster().connect(dbname);
    REQUIRE(wait_stored(*db, 3000, 60s));
    CHECK(stored_count(*db) == 3000);
    CHECK(query_value(*db,
                      "SELECT count(*) FROM (SELECT convert_from(payload, 'UTF8')::int AS n,"
                      " row_number() OVER (ORDER BY id) - 1 AS pos FROM culex.message_store) s"
                      " WHERE n <> pos") == "0");
    CHECK(again.terminate(30s) == 0);
    CHECK(again.log().find("spooled batches (") != std::string::npos);
    remove_tree(spool_dir);
}
