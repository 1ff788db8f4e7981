// A streaming standby of a PgCluster for integration tests: pg_basebackup -R into a temp
// dir, postgres on another free 127.0.0.1 port, hot standby (read-only queries). Runs as
// user `postgres` when the tests run as root. The primary must outlive it. Test-thread
// only.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "pg_cluster.h"
#include "process.h"
#include "storage/pg_connection.h"

namespace culex::test {

class PgStandby {
  public:
    // Clones `primary` and starts the standby, streaming; throws on failure.
    explicit PgStandby(const PgCluster& primary);
    ~PgStandby();
    PgStandby(const PgStandby&) = delete;
    PgStandby& operator=(const PgStandby&) = delete;

    // Starts the server unless it is running and waits until it streams from the
    // primary; throws when it does not.
    void start();
    // Fast shutdown (SIGINT): its clients are disconnected.
    void stop();

    int port() const { return port_; }
    std::string conninfo(const std::string& dbname) const;
    // A connection to `dbname` on the standby, connected, or a failed REQUIRE.
    std::unique_ptr<PgConnection> connect(const std::string& dbname) const;

    // Waits until the standby has replayed everything the primary had written when this
    // was called (`primary`: a connection to it). True when it has within `timeout`.
    bool wait_replayed(PgConnection& primary, std::chrono::milliseconds timeout);
    // Stops and resumes applying WAL (it is still received): what it shows stays as it
    // was at the pause.
    void pause_replay();
    void resume_replay();

  private:
    bool streaming() const;

    const PgCluster& primary_;
    std::string dir_;
    int port_ = 0;
    std::unique_ptr<Process> server_;
};

}  // namespace culex::test
