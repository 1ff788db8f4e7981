// Shared pieces of the integration tests: one PostgreSQL cluster per test binary, and
// queries over what the plugin stored.
#pragma once

#include <string>
#include <vector>

#include "broker_process.h"
#include "mqtt_client.h"
#include "pg_cluster.h"

namespace culex::test {

// Started on first use, stopped when the test binary exits.
PgCluster& cluster();

// Plugin options pointing at `dbname` with fast retries, plus `extra`.
PluginOpts plugin_opts_for(const std::string& dbname, const PluginOpts& extra = {});

// Number of rows in culex.message_store, or -1 while the schema does not exist yet.
long stored_count(PgConnection& db);

// Waits until the plugin has created its schema (it connects at start) and closes
// `db`, so a following outage does not break a connection the test still holds.
bool wait_schema_then_close(PgConnection& db);

// Waits until at least `n` rows are stored; true when reached.
bool wait_stored(PgConnection& db, long n, std::chrono::milliseconds timeout);

// Decodes PostgreSQL's hex bytea output (`\x...`).
std::string from_hex(const std::string& hex);

}  // namespace culex::test
