// The reliability scenarios at full load (20,000 QoS 1 messages/s from four devices):
// a 60 s PostgreSQL outage with the disk spool, and a SIGKILL of the broker.
#include <signal.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <memory>
#include <vector>

#include "support/fixture.h"
#include "support/publisher.h"

using namespace culex::test;
using namespace std::chrono_literals;

namespace {

constexpr int kDevices = 4;
constexpr int kPerDevicePerSecond = 5000;

// Peak resident memory of a process (VmHWM), in KiB.
long peak_rss_kib(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmHWM:", 0) == 0)
            return std::stol(line.substr(6));
    }
    return -1;
}

std::vector<std::unique_ptr<Publisher>> start_devices(int port) {
    std::vector<std::unique_ptr<Publisher>> devices;
    for (int i = 0; i < kDevices; ++i) {
        devices.push_back(std::make_unique<Publisher>(port, "load", "d" + std::to_string(i),
                                                      kPerDevicePerSecond));
    }
    return devices;
}

long total_sent(const std::vector<std::unique_ptr<Publisher>>& devices) {
    long total = 0;
    for (const auto& d : devices)
        total += d->sent();
    return total;
}

// Rows whose per-device number does not follow the previous one: 0 when each device's
// stored messages are 0, 1, 2, ... with no gap and no duplicate.
const char* kBrokenSequences =
    "SELECT count(*) FROM (SELECT n, lag(n) OVER (PARTITION BY client_id ORDER BY n) AS prev,"
    " row_number() OVER (PARTITION BY client_id ORDER BY n) AS k FROM (SELECT client_id,"
    " split_part(convert_from(payload, 'UTF8'), ':', 2)::bigint AS n FROM culex.message_store)"
    " numbered) pairs WHERE n <> k - 1";

}  // namespace

TEST_CASE("60 s outage at 20,000 msg/s with a spool: all stored once, memory bounded",
          "[outage][spool][load]") {
    const std::string dbname = cluster().create_database();
    const std::string spool_dir = make_temp_dir("culex-spool");
    chown_to(spool_dir, "mosquitto");
    BrokerProcess broker(plugin_opts_for(dbname, {{"spool_dir", spool_dir}}));
    REQUIRE(broker.wait_ready());
    auto db = cluster().connect(dbname);
    REQUIRE(wait_schema_then_close(*db));

    auto devices = start_devices(broker.port());
    REQUIRE(wait_until([&] { return total_sent(devices) > 100000; }, 60s));
    long sent_during = 0;
    {
        PgCluster::Outage outage(cluster());
        const long at_start = total_sent(devices);
        std::this_thread::sleep_for(60s);  // the outage's length is the scenario
        sent_during = total_sent(devices) - at_start;
    }
    const long after_outage = total_sent(devices);
    REQUIRE(wait_until([&] { return total_sent(devices) > after_outage + 100000; }, 60s));
    for (auto& d : devices)
        d->stop();
    for (auto& d : devices)
        REQUIRE(d->client().wait_acked(120s));
    const long total = total_sent(devices);
    INFO("sent " << total << ", " << sent_during << " during the outage");
    CHECK(sent_during > 600000);  // the broker kept accepting at load during the outage

    REQUIRE(db->connect().is_ok());
    REQUIRE(wait_stored(*db, total, 300s));
    CHECK(stored_count(*db) == total);
    CHECK(query_value(*db, kBrokenSequences) == "0");
    // Without the spool the queue would have held the outage's 1.2M messages (~275 MiB
    // measured, docs/benchmarks.md); with it, they wait on disk.
    const long peak = peak_rss_kib(broker.process().pid());
    INFO("broker peak RSS " << peak << " KiB");
    CHECK(peak > 0);
    CHECK(peak < 150 * 1024);
    const std::string log = broker.log();
    CHECK(log.find("spool written back to PostgreSQL") != std::string::npos);
    CHECK(log.find("not stored") == std::string::npos);
    CHECK(broker.terminate(60s) == 0);
    remove_tree(spool_dir);
}

TEST_CASE("SIGKILL under load loses only the newest messages; the spool is replayed",
          "[crash][spool][load]") {
    const std::string dbname = cluster().create_database();
    const std::string spool_dir = make_temp_dir("culex-spool");
    chown_to(spool_dir, "mosquitto");
    const PluginOpts opts = plugin_opts_for(dbname, {{"spool_dir", spool_dir}});
    std::vector<long> acked(kDevices);
    {
        BrokerProcess broker(opts);
        REQUIRE(broker.wait_ready());
        auto devices = start_devices(broker.port());
        REQUIRE(wait_until([&] { return total_sent(devices) > 100000; }, 60s));
        broker.process().signal(SIGKILL);
        REQUIRE(broker.process().wait(30s).has_value());
        for (auto& d : devices)
            d->stop();
        for (int i = 0; i < kDevices; ++i)
            acked[static_cast<size_t>(i)] = devices[static_cast<size_t>(i)]->client().acked();
    }
    // Restart on the same spool and database: whatever was spooled is written first.
    BrokerProcess again(opts);
    REQUIRE(again.wait_ready());
    auto db = cluster().connect(dbname);
    REQUIRE(wait_until(
        [&] { return again.log().find("connected to PostgreSQL") != std::string::npos; }, 60s));
    REQUIRE(wait_until(
        [&] {
            return again.log().find("spooled batches") == std::string::npos ||
                   again.log().find("spool written back") != std::string::npos;
        },
        120s));
    // Only a suffix of each device's messages may be missing (the queue's content), and
    // nothing is stored twice.
    CHECK(query_value(*db, kBrokenSequences) == "0");
    // Acknowledged but not stored: per device, the acknowledged run past the stored one.
    long missing = 0;
    long acked_total = 0;
    for (int i = 0; i < kDevices; ++i) {
        const long stored = std::stol(
            query_value(*db, "SELECT count(*) FROM culex.message_store WHERE client_id = $1",
                        {"d" + std::to_string(i)}));
        acked_total += acked[static_cast<size_t>(i)];
        missing += std::max(0L, acked[static_cast<size_t>(i)] - stored);
    }
    INFO("acknowledged " << acked_total << ", acknowledged but missing " << missing);
    CHECK(acked_total > 100000);
    // The documented bound is the queue's content: batch_max_ms plus one commit of
    // traffic, measured at 15-22 ms (300-450 messages). A second of traffic is a loose
    // ceiling that still catches a lost or unreplayed spool.
    CHECK(missing < 20000);
    CHECK(again.terminate(60s) == 0);
    remove_tree(spool_dir);
}
