#include "pg_cluster.h"

#include <signal.h>
#include <catch2/catch.hpp>

#include <filesystem>
#include <stdexcept>

namespace culex::test {
namespace {

std::string find_bindir() {
    if (const char* env = std::getenv("CULEX_PG_BINDIR"))
        return env;
    std::string best;
    for (auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql")) {
        std::string candidate = entry.path().string() + "/bin";
        if (std::filesystem::exists(candidate + "/initdb") && candidate > best)
            best = candidate;
    }
    if (best.empty())
        throw std::runtime_error("no PostgreSQL server found in /usr/lib/postgresql");
    return best;
}

}  // namespace

PgCluster::PgCluster() : bindir_(find_bindir()), dir_(make_temp_dir("culex-pg")) {
    port_ = free_port();
    std::filesystem::create_directories(dir_ + "/socket");
    chown_to(dir_, "postgres");
    int rc = run_command({bin("initdb"), "-D", dir_ + "/data", "-U", "postgres", "--auth=trust",
                          "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"},
                         dir_ + "/initdb.log", "postgres");
    if (rc != 0)
        throw std::runtime_error("initdb failed: " + read_file(dir_ + "/initdb.log"));
    start();
}

PgCluster::~PgCluster() {
    stop();
    remove_tree(dir_);
}

std::string PgCluster::bin(const std::string& tool) const {
    return bindir_ + "/" + tool;
}

void PgCluster::start() {
    if (server_ && server_->running())
        return;
    server_ = std::make_unique<Process>(
        std::vector<std::string>{bin("postgres"), "-D", dir_ + "/data", "-p", std::to_string(port_),
                                 "-k", dir_ + "/socket", "-c", "listen_addresses=127.0.0.1", "-c",
                                 "fsync=off", "-c", "max_connections=50"},
        dir_ + "/postgres.log", "postgres");
    bool up = wait_until(
        [&] { return PQping(conninfo("postgres").c_str()) == PQPING_OK || !server_->running(); },
        std::chrono::seconds(60));
    if (!up || !server_->running()) {
        throw std::runtime_error("postgres did not start: " + read_file(dir_ + "/postgres.log"));
    }
}

void PgCluster::stop() {
    if (!server_)
        return;
    server_->signal(SIGINT);
    server_->wait(std::chrono::seconds(60));
    server_.reset();
}

std::string PgCluster::conninfo(const std::string& dbname) const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=" + dbname;
}

std::string PgCluster::create_database() {
    std::string name = "culex_test_" + std::to_string(++next_db_);
    auto db = connect("postgres");
    PgOutcome created = db->exec(("CREATE DATABASE " + name).c_str());
    REQUIRE(created.message == "");
    return name;
}

std::unique_ptr<PgConnection> PgCluster::connect(const std::string& dbname) const {
    auto db = std::make_unique<PgConnection>(conninfo(dbname));
    Status s = db->connect();
    INFO(s.message());
    REQUIRE(s.is_ok());
    return db;
}

std::string query_value(PgConnection& db, const char* sql, const std::vector<std::string>& params) {
    PgOutcome outcome = db.exec(sql, params);
    INFO(sql << ": " << outcome.message);
    REQUIRE(outcome.ok());
    REQUIRE(PQntuples(outcome.result.get()) == 1);
    return PQgetisnull(outcome.result.get(), 0, 0) ? "" : PQgetvalue(outcome.result.get(), 0, 0);
}

}  // namespace culex::test
