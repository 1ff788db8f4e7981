// A private PostgreSQL cluster for integration tests: initdb in a temp dir, postgres on
// a free 127.0.0.1 port, trust auth (replication connections too, so pg_standby.h can
// clone it). Runs as user `postgres` when the tests run as
// root (PostgreSQL refuses root). Test-thread only.
#pragma once

#include <memory>
#include <string>

#include "process.h"
#include "storage/pg_connection.h"

namespace culex::test {

class PgCluster {
  public:
    PgCluster();  // initdb and start; throws on failure
    ~PgCluster();
    PgCluster(const PgCluster&) = delete;
    PgCluster& operator=(const PgCluster&) = delete;

    // Starts the server unless it is running.
    void start();
    // Fast shutdown (SIGINT): open transactions are aborted, clients disconnected.
    void stop();

    // Stops the server for its lifetime, so a failing test never leaves it down.
    class Outage {
      public:
        explicit Outage(PgCluster& cluster) : cluster_(cluster) { cluster_.stop(); }
        ~Outage() { end(); }
        Outage(const Outage&) = delete;
        Outage& operator=(const Outage&) = delete;
        void end() { cluster_.start(); }

      private:
        PgCluster& cluster_;
    };
    int port() const { return port_; }
    std::string conninfo(const std::string& dbname) const;
    // A new empty database; each test gets its own.
    std::string create_database();
    // A connection to `dbname`, connected, or a failed REQUIRE.
    std::unique_ptr<PgConnection> connect(const std::string& dbname) const;
    // The server's log (its stderr), where auto_explain writes plans.
    std::string log_path() const { return dir_ + "/postgres.log"; }
    // The path of one of the server's programs (initdb, pg_basebackup, ...).
    std::string bin(const std::string& tool) const;

  private:
    std::string bindir_;
    std::string dir_;
    int port_ = 0;
    int next_db_ = 0;
    std::unique_ptr<Process> server_;
};

// Runs a query expected to return one value; returns it as text ("" for NULL).
std::string query_value(PgConnection& db, const char* sql,
                        const std::vector<std::string>& params = {});

}  // namespace culex::test
