// The storage writer in-process against a real PostgreSQL (no broker), so that the
// sanitizer build covers it too: refused rows, order, outage, shutdown accounting.
#include <catch2/catch.hpp>

#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "storage/ingest_writer.h"
#include "storage/spool.h"
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

// Queues messages 0..n-1 (payload: the number) on `topic`, or spread over `topics`
// topics named `topic` + i % topics.
void push_numbered(culex::IngestQueue& queue, uint64_t n, const std::string& topic,
                   uint64_t topics = 1) {
    for (uint64_t i = 0; i < n; ++i) {
        std::string name = topics > 1 ? topic + std::to_string(i % topics) : topic;
        REQUIRE(queue.try_push(message(name, std::to_string(i), i)) ==
                culex::IngestQueue::PushResult::kQueued);
    }
}

struct WriterRig {
    // `spool_dir` non-empty: spool there, from 500 queued messages, in batches of 100.
    explicit WriterRig(const std::string& dbname, const std::string& spool_dir = "",
                       size_t spool_max_bytes = size_t{1} << 30) {
        config.db_conninfo = cluster().conninfo(dbname);
        config.broker_id = "writer-test";
        config.db_retry_max_ms = 200;
        config.spool_dir = spool_dir;
        config.spool_max_bytes = spool_max_bytes;
        config.spool_threshold = 500;
        config.batch_max_rows = 100;
        writer = std::make_unique<culex::IngestWriter>(config, queue, log, stats);
        culex::Status opened = writer->open_spool();
        INFO(opened.message());
        REQUIRE(opened.is_ok());
        writer->start();
    }
    // True when any line logged so far contains `text`.
    bool logged(const std::string& text) {
        for (auto& line : log_lines())
            seen.push_back(std::move(line));
        for (const auto& line : seen) {
            if (line.find(text) != std::string::npos)
                return true;
        }
        return false;
    }
    std::vector<std::string> seen;
    std::vector<std::string> log_lines() {
        std::vector<std::string> lines;
        log.drain([&](culex::LogLevel, const std::string& line) { lines.push_back(line); });
        return lines;
    }
    culex::Config config;
    culex::IngestQueue queue{5000, 1 << 26};
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
    REQUIRE(wait_schema_then_close(*db));
    {
        PgCluster::Outage outage(cluster());
        push_numbered(rig.queue, 2000, "w/", 7);
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
    push_numbered(rig.queue, 300, "w/t");
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
    push_numbered(queue, 100, "cut/t");
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

namespace {

size_t files_in(const std::string& dir) {
    size_t n = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        n += entry.path().extension() == ".batch" ? 1 : 0;
    }
    return n;
}

// Rows in id order have consecutive seq: nothing lost, duplicated or reordered.
std::string seq_gaps(culex::PgConnection& db) {
    return query_value(db,
                       "SELECT count(*) FROM (SELECT seq, lag(seq) OVER (ORDER BY id) AS prev"
                       " FROM culex.message_store) s WHERE seq <> prev + 1");
}

}  // namespace

TEST_CASE("during an outage batches past the threshold go to the spool and come back in order",
          "[writer][spool]") {
    std::string dbname = cluster().create_database();
    std::string spool_dir = make_temp_dir("culex-spool");
    WriterRig rig(dbname, spool_dir);
    auto db = cluster().connect(dbname);
    REQUIRE(wait_schema_then_close(*db));
    {
        PgCluster::Outage outage(cluster());
        push_numbered(rig.queue, 3000, "s/", 5);
        REQUIRE(wait_until([&] { return rig.queue.size() < 500; }, 30s));
        CHECK(rig.stats.spooled >= 2400);
        CHECK(files_in(spool_dir) >= 24);
    }
    REQUIRE(db->connect().is_ok());
    REQUIRE(wait_stored(*db, 3000, 60s));
    CHECK(stored_count(*db) == 3000);
    CHECK(seq_gaps(*db) == "0");
    REQUIRE(wait_until([&] { return files_in(spool_dir) == 0; }, 30s));
    CHECK(rig.stats.replayed == rig.stats.spooled);
    CHECK(rig.writer->stop(5s) == 0);
    CHECK(rig.logged("messages spooled to " + spool_dir));
    CHECK(rig.logged("culex: spool written back to PostgreSQL"));
    remove_tree(spool_dir);
}

TEST_CASE("what stop cannot write is spooled and written by the next writer", "[writer][spool]") {
    std::string dbname = cluster().create_database();
    std::string spool_dir = make_temp_dir("culex-spool");
    {
        PgCluster::Outage outage(cluster());
        WriterRig rig(dbname, spool_dir);
        push_numbered(rig.queue, 1000, "s/t");
        REQUIRE(wait_until([&] { return rig.stats.db_errors > 0; }, 30s));
        CHECK(rig.writer->stop(300ms) == 0);  // nothing lost: all of it is on disk
        CHECK(rig.stats.spooled == 1000);
    }
    WriterRig next(dbname, spool_dir);
    auto db = cluster().connect(dbname);
    REQUIRE(wait_stored(*db, 1000, 60s));
    REQUIRE(wait_until([&] { return files_in(spool_dir) == 0; }, 30s));
    CHECK(stored_count(*db) == 1000);
    CHECK(seq_gaps(*db) == "0");
    CHECK(next.writer->stop(5s) == 0);
    remove_tree(spool_dir);
}

TEST_CASE("a spooled batch that was already committed is not stored again", "[writer][spool]") {
    std::string dbname = cluster().create_database();
    std::string spool_dir = make_temp_dir("culex-spool");
    std::vector<culex::Message> batch;
    for (uint64_t i = 0; i < 50; ++i)
        batch.push_back(message("s/dup", std::to_string(i), i));
    {
        WriterRig rig(dbname);
        for (auto m : batch)
            REQUIRE(rig.queue.try_push(std::move(m)) == culex::IngestQueue::PushResult::kQueued);
        REQUIRE(wait_until([&] { return rig.stats.stored == 50; }, 30s));
        CHECK(rig.writer->stop(5s) == 0);
    }
    // As if a crash came after the commit but before the spool file was removed.
    {
        culex::Spool spool(spool_dir, 1 << 20);
        REQUIRE(spool.open().is_ok());
        REQUIRE(spool.append(batch).is_ok());
    }
    WriterRig replay(dbname, spool_dir);
    REQUIRE(wait_until([&] { return files_in(spool_dir) == 0; }, 30s));
    auto db = cluster().connect(dbname);
    CHECK(stored_count(*db) == 50);
    CHECK(replay.stats.replayed == 50);
    CHECK(replay.writer->stop(5s) == 0);
    remove_tree(spool_dir);
}

TEST_CASE("a full spool keeps messages in memory and then the queue bound applies",
          "[writer][spool]") {
    std::string dbname = cluster().create_database();
    std::string spool_dir = make_temp_dir("culex-spool");
    PgCluster::Outage outage(cluster());
    WriterRig rig(dbname, spool_dir, size_t{1} << 20);  // 1 MiB
    std::string payload(4000, 'x');
    size_t refused = 0;
    for (uint64_t i = 0; i < 7000; ++i) {
        culex::Message m = message("s/big", payload, i);
        if (rig.queue.try_push(std::move(m)) != culex::IngestQueue::PushResult::kQueued)
            ++refused;
        if (i % 500 == 0) {
            // Let the writer spill what it can before the queue fills.
            wait_until([&] { return rig.queue.size() < 600 || rig.logged("cannot spool"); }, 5s);
        }
    }
    REQUIRE(wait_until([&] { return rig.logged("cannot spool: spool_max_bytes reached"); }, 30s));
    CHECK(refused > 0);  // the queue bound took over
    uint64_t spool_bytes = 0;
    for (const auto& entry : std::filesystem::directory_iterator(spool_dir))
        spool_bytes += entry.file_size();
    CHECK(spool_bytes <= (size_t{1} << 20));
    CHECK(rig.stats.spooled > 0);
    CHECK(rig.writer->stop(300ms) > 0);  // neither stored nor spooled: reported
    remove_tree(spool_dir);
}

namespace {

// A 1 MiB tmpfs, so that the spool meets a really full disk. Needs root, as CI runs.
class SmallDisk {
  public:
    SmallDisk() : path(make_temp_dir("culex-small-disk")) {
        REQUIRE(geteuid() == 0);  // mounting needs root; scripts/test runs as root
        REQUIRE(mount("tmpfs", path.c_str(), "tmpfs", 0, "size=1m") == 0);
    }
    ~SmallDisk() {
        umount2(path.c_str(), MNT_DETACH);
        remove_tree(path);
    }
    SmallDisk(const SmallDisk&) = delete;
    SmallDisk& operator=(const SmallDisk&) = delete;
    std::string path;
};

}  // namespace

TEST_CASE("a full disk under the spool keeps messages in memory; what was spooled is intact",
          "[writer][spool]") {
    std::string dbname = cluster().create_database();
    SmallDisk disk;
    size_t refused = 0;
    {
        PgCluster::Outage outage(cluster());
        WriterRig rig(dbname, disk.path);  // spool_max_bytes 1G: the disk fills first
        std::string payload(4000, 'x');
        for (uint64_t i = 0; i < 7000; ++i) {
            if (rig.queue.try_push(message("s/disk", payload, i)) !=
                culex::IngestQueue::PushResult::kQueued) {
                ++refused;
            }
            if (i % 500 == 0) {
                wait_until([&] { return rig.queue.size() < 600 || rig.logged("cannot spool"); },
                           5s);
            }
        }
        REQUIRE(wait_until([&] { return rig.logged("No space left on device"); }, 30s));
        CHECK(refused > 0);  // the queue bound took over once the disk was full
        CHECK(rig.stats.spooled > 0);
        size_t temp_files = 0;
        for (const auto& entry : std::filesystem::directory_iterator(disk.path)) {
            temp_files += entry.path().extension() == ".tmp" ? 1 : 0;
        }
        CHECK(temp_files == 0);  // a failed write leaves nothing half-written behind
        rig.writer->stop(std::chrono::milliseconds(0));
    }
    // Everything accepted (spooled or still queued when stopped) is not lost on disk:
    // the spool files that made it are intact and are written by the next writer.
    WriterRig next(dbname, disk.path);
    REQUIRE(wait_until([&] { return files_in(disk.path) == 0; }, 60s));
    CHECK(next.stats.replayed > 0);
    auto db = cluster().connect(dbname);
    CHECK(stored_count(*db) == static_cast<long>(next.stats.replayed));
    CHECK(seq_gaps(*db) == "0");
    CHECK_FALSE(next.logged("failed their checksum"));
    CHECK(next.writer->stop(5s) == 0);
}
