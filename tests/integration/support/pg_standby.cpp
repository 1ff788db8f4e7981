#include "pg_standby.h"

#include <signal.h>
#include <catch2/catch.hpp>

#include <filesystem>
#include <stdexcept>

namespace culex::test {

PgStandby::PgStandby(const PgCluster& primary)
    : primary_(primary), dir_(make_temp_dir("culex-standby")) {
    port_ = free_port();
    std::filesystem::create_directories(dir_ + "/socket");
    chown_to(dir_, "postgres");
    // -R writes primary_conninfo and standby.signal; -X stream also copies the WAL written
    // during the copy, so the clone is consistent on its own.
    int rc = run_command(
        {primary.bin("pg_basebackup"), "-h", "127.0.0.1", "-p", std::to_string(primary.port()),
         "-U", "postgres", "-D", dir_ + "/data", "-R", "-X", "stream", "-c", "fast", "--no-sync"},
        dir_ + "/basebackup.log", "postgres");
    if (rc != 0)
        throw std::runtime_error("pg_basebackup failed: " + read_file(dir_ + "/basebackup.log"));
    start();
}

PgStandby::~PgStandby() {
    stop();
    remove_tree(dir_);
}

void PgStandby::start() {
    if (server_ && server_->running())
        return;
    // max_connections must be at least the primary's for a hot standby to start.
    server_ = std::make_unique<Process>(
        std::vector<std::string>{primary_.bin("postgres"), "-D", dir_ + "/data", "-p",
                                 std::to_string(port_), "-k", dir_ + "/socket", "-c",
                                 "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c",
                                 "max_connections=50", "-c", "hot_standby=on"},
        dir_ + "/postgres.log", "postgres");
    bool up =
        wait_until([&] { return streaming() || !server_->running(); }, std::chrono::seconds(60));
    if (!up || !server_->running())
        throw std::runtime_error("the standby did not stream: " +
                                 read_file(dir_ + "/postgres.log"));
}

void PgStandby::stop() {
    if (!server_)
        return;
    server_->signal(SIGINT);
    server_->wait(std::chrono::seconds(60));
    server_.reset();
}

std::string PgStandby::conninfo(const std::string& dbname) const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=" + dbname;
}

std::unique_ptr<PgConnection> PgStandby::connect(const std::string& dbname) const {
    auto db = std::make_unique<PgConnection>(conninfo(dbname));
    Status s = db->connect();
    INFO(s.message());
    REQUIRE(s.is_ok());
    return db;
}

bool PgStandby::streaming() const {
    if (PQping(conninfo("postgres").c_str()) != PQPING_OK)
        return false;
    PgConnection db(conninfo("postgres"));
    if (!db.connect().is_ok())
        return false;
    PgOutcome outcome =
        db.exec("SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'");
    return outcome.ok() && std::string(PQgetvalue(outcome.result.get(), 0, 0)) == "1";
}

bool PgStandby::wait_replayed(PgConnection& primary, std::chrono::milliseconds timeout) {
    const std::string lsn = query_value(primary, "SELECT pg_current_wal_lsn()::text");
    auto db = connect("postgres");
    return wait_until(
        [&] {
            return query_value(*db, "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", {lsn}) == "t";
        },
        timeout);
}

void PgStandby::pause_replay() {
    auto db = connect("postgres");
    query_value(*db, "SELECT pg_wal_replay_pause()");
    // Once requested, no further record is applied, even before the state says "paused".
    REQUIRE(query_value(*db, "SELECT pg_get_wal_replay_pause_state()") != "not paused");
}

void PgStandby::resume_replay() {
    auto db = connect("postgres");
    query_value(*db, "SELECT pg_wal_replay_resume()");
}

}  // namespace culex::test
