// The storage writer in-process against a real PostgreSQL (no broker), so that the
// sanitizer build covers it too: refused rows, order, outage, shutdown accounting.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "storage/ingest_writer.h"
#include "support/fixture.h"
#include "support/pg_cut_proxy.h"

using namespace culex::test;
using namespace std::chrono_literals;

namespace {

culex::Message message(const std::string& topic, const std::string& payload, uint64_t seq,
                       const std::string& client_id = "writer-test") {
    culex::Message m;
    m.topic = topic;
    m.payload = payload;
    m.client_id = client_id;
    m.qos = 1;
    m.seq = seq;
    m.received_us = culex::wall_clock_us();
    return m;
}

struct WriterRig {
    explicit WriterRig(const std::string& dbname) {
        config.db_conninfo = cluster().conninfo(dbname);
        config.broker_id = "writer-test";
        config.db_retry_max_ms = 200;
        writer = std::make_unique<culex::IngestWriter>(config, queue, log, stats);
        writer->start();
    }
    std::vector<std::string> log_lines() {
        std::vector<std::string> lines;
        log.drain([&](culex::LogLevel, const std::string& line) { lines.push_back(line); });
        return lines;
    }
    culex::Config config;
    culex::IngestQueue queue{100000, 1 << 26};
    culex::LogQueue log;
    culex::IngestStats stats;
    std::unique_ptr<culex::IngestWriter> writer;
};

}  // namespace

TEST_CASE("a row PostgreSQL refuses is counted and logged; the rest of its batch is stored",
          "[writer]") {
    std::string dbname = cluster().create_database();
    WriterRig rig(dbname);
    // Invalid UTF-8 in a text column fails the whole COPY; the writer isolates the row.
    std::vector<culex::Message> batch = {message("w/a", "1", 1), message("w/a", "2", 2, "bad\xff"),
                                         message("w/a", "3", 3),
                                         message("w/json", "{\"x\": 1}", 4)};
    for (auto& m : batch)
        REQUIRE(rig.queue.try_push(std::move(m)) == culex::IngestQueue::PushResult::kQueued);
    auto db = cluster().connect(dbname);
    REQUIRE(wait_until([&] { return rig.stats.stored + rig.stats.refused_by_db == 4; }, 30s));
    CHECK(rig.stats.stored == 3);
    CHECK(rig.stats.refused_by_db == 1);
    CHECK(query_value(*db,
                      "SELECT string_agg(convert_from(payload, 'UTF8'), ',' ORDER BY id)"
                      " FROM culex.messages") == "1,3,{\"x\": 1}");
    CHECK(query_value(
              *db, "SELECT payload_json->>'x' FROM culex.messages WHERE topic = 'w/json'") == "1");
    CHECK(rig.writer->stop(5s) == 0);
    bool logged = false;
    for (const auto& line : rig.log_lines()) {
        logged |= line.find("PostgreSQL refused the message on topic 'w/a'") != std::string::npos;
    }
    CHECK(logged);
}

TEST_CASE("messages queued during an outage are written in order once it ends", "[writer]") {
    std::string dbname = cluster().create_database();
    WriterRig rig(dbname);
    auto db = cluster().connect(dbname);
    REQUIRE(wait_until([&] { return stored_count(*db) == 0; }, 30s));  // schema ready
    db->close();
    {
        PgCluster::Outage outage(cluster());
        for (uint64_t i = 0; i < 2000; ++i) {
            REQUIRE(rig.queue.try_push(message("w/" + std::to_string(i % 7), std::to_string(i),
                                               i)) == culex::IngestQueue::PushResult::kQueued);
        }
        REQUIRE(wait_until([&] { return rig.stats.db_errors > 0; }, 30s));
    }
    REQUIRE(db->connect().is_ok());
    REQUIRE(wait_stored(*db, 2000, 60s));
    CHECK(stored_count(*db) == 2000);
    CHECK(query_value(*db,
                      "SELECT count(*) FROM (SELECT seq, lag(seq) OVER (ORDER BY id) AS prev"
                      " FROM culex.message_store) s WHERE seq <> prev + 1") == "0");
    CHECK(rig.writer->stop(5s) == 0);
}

TEST_CASE("stop reports what it could not write before its timeout", "[writer]") {
    std::string dbname = cluster().create_database();
    PgCluster::Outage outage(cluster());
    WriterRig rig(dbname);
    for (uint64_t i = 0; i < 300; ++i) {
        REQUIRE(rig.queue.try_push(message("w/t", std::to_string(i), i)) ==
                culex::IngestQueue::PushResult::kQueued);
    }
    CHECK(rig.writer->stop(500ms) == 300);
    CHECK(rig.stats.stored == 0);
}

TEST_CASE("a batch whose commit answer was lost is not stored twice", "[writer]") {
    std::string dbname = cluster().create_database();
    PgCutProxy proxy(cluster().port());
    culex::Config config;
    config.db_conninfo = "host=127.0.0.1 port=" + std::to_string(proxy.port()) +
                         " user=postgres dbname=" + dbname + " sslmode=disable gssencmode=disable";
    config.broker_id = "writer-test";
    config.db_retry_max_ms = 200;
    culex::IngestQueue queue(100000, 1 << 26);
    culex::LogQueue log;
    culex::IngestStats stats;
    culex::IngestWriter writer(config, queue, log, stats);
    writer.start();
    auto db = cluster().connect(dbname);
    REQUIRE(wait_until([&] { return stored_count(*db) == 0; }, 30s));  // schema ready

    proxy.arm();
    for (uint64_t i = 0; i < 100; ++i) {
        REQUIRE(queue.try_push(message("cut/t", std::to_string(i), i)) ==
                culex::IngestQueue::PushResult::kQueued);
    }
    REQUIRE(wait_until([&] { return stats.stored == 100; }, 30s));
    CHECK(proxy.cut_done());
    CHECK(stats.db_errors >= 1);  // the writer saw the connection drop mid-commit
    CHECK(stored_count(*db) == 100);
    CHECK(query_value(*db, "SELECT count(DISTINCT seq) FROM culex.message_store") == "100");
    // Later batches go through the same (re-opened) connection normally.
    REQUIRE(queue.try_push(message("cut/t", "after", 100)) ==
            culex::IngestQueue::PushResult::kQueued);
    REQUIRE(wait_until([&] { return stats.stored == 101; }, 30s));
    CHECK(stored_count(*db) == 101);
    CHECK(writer.stop(5s) == 0);
}
