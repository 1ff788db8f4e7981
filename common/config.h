// The plugin's settings, as parsed from `plugin_opt_*` lines (plugin/options.h).
// Defaults here are the documented defaults (docs/configuration.md). A Config is
// built once on the broker thread at init and read-only afterwards.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "client_pattern.h"

namespace culex {

// How far below the broker thread Culex's own threads run (common/worker_thread.h).
struct WorkerPriority {
    int nice = 0;        // added to the thread's nice value, capped at 19
    bool batch = false;  // SCHED_BATCH: never preempts on waking
};

struct Config {
    // libpq connection string or URI; empty means libpq's defaults (PG* variables).
    std::string db_conninfo;
    // A streaming standby of that database for the HTTP API's reads; empty: none, every
    // read goes to the primary. Reads go to the primary while the standby lags more than
    // read_max_lag_ms, is unreachable or is not a streaming standby.
    std::string db_read_conninfo;
    int64_t read_max_lag_ms = 5000;
    // Name of this broker in a multi-broker setup; defaults to the host name.
    std::string broker_id;
    // MQTT topic filters: a message is stored when its topic matches one of
    // store_topics and none of exclude_topics. `$SYS` topics are never stored.
    std::vector<std::string> store_topics{"#"};
    std::vector<std::string> exclude_topics;
    // Publishers whose messages the broker delivers but Culex does not store (nor match
    // against rules): the ends of bridges to brokers that store the same messages
    // themselves. Their messages still reach this broker's live stream.
    ClientPatterns exclude_clients;
    // The writer commits a batch when it holds batch_max_rows messages or its first
    // message has waited batch_max_ms, whichever comes first.
    size_t batch_max_rows = 5000;
    int64_t batch_max_ms = 10;
    // The priority of Culex's own threads relative to the broker thread's.
    WorkerPriority worker_priority;
    // Bounds of the in-memory queue between the broker thread and the writer.
    size_t queue_capacity = 1000000;
    size_t queue_max_bytes = size_t{512} << 20;
    // What a message that nothing can hold (queue full and no spool, or the spool full
    // or failing) does to its publisher: kDeliver acknowledges it and it reaches
    // subscribers unstored; kRejectV5 answers an MQTT 5 publisher's QoS 1/2 PUBLISH with
    // reason code 0x87 so that the device keeps it (other publishers as kDeliver).
    enum class QueueFull { kDeliver, kRejectV5 };
    QueueFull queue_full = QueueFull::kDeliver;
    // Store a jsonb copy of payloads that are valid JSON (payload_json column).
    bool store_json = true;
    // Reconnect backoff ceiling while the database is unreachable.
    int64_t db_retry_max_ms = 2000;
    // How long shutdown waits for the queue to be written before giving up (and
    // spooling what is left, when there is a spool).
    int64_t shutdown_timeout_ms = 15000;
    // Directory for batches kept on disk while PostgreSQL is unreachable; empty: none.
    std::string spool_dir;
    size_t spool_max_bytes = size_t{1} << 30;
    // Queued messages at which the writer starts moving batches to the spool.
    size_t spool_threshold = 20000;

    // culex.message_store's time partitions (docs/storage.md): their width, a whole
    // number of hours; 0 (option value `off`): Culex neither creates nor drops them.
    int64_t partition_interval_s = 86400;
    // Partitions wholly older than this are dropped; 0 keeps everything.
    int64_t retention_s = 0;
    // Topics kept for less time: rows of a matching topic older than age_s are deleted,
    // in bounded batches. A topic matched by several entries keeps the shortest.
    struct TopicRetention {
        std::string filter;
        int64_t age_s = 0;
    };
    std::vector<TopicRetention> retention_topics;
    // Soft-deleted rows are purged this long after their deletion; 0: kept until purged.
    int64_t trash_retention_s = 0;
    // How often a broker tries to do the partition upkeep and retention (one broker of
    // those on a database at a time).
    int64_t maintenance_interval_s = 600;

    // HTTP API: "IPv4:port" to listen on; empty (option value `off`) disables the server.
    std::string http_listen = "127.0.0.1:8080";
    int http_threads = 16;
    // PEM files; both set means HTTPS only.
    std::string http_tls_cert;
    std::string http_tls_key;
    size_t http_max_body = size_t{1} << 20;
    // The HTTP front end (http/server/frontend.h): the time a request head may take,
    // connections held in all and per client address, and the origins whose pages may
    // call the API (CORS; "*" for any, empty for none).
    int64_t http_request_head_timeout_ms = 10000;
    int http_max_connections = 1024;
    int http_max_connections_per_client = 32;
    std::vector<std::string> http_cors_origins;
    // Connections the API may hold open to PostgreSQL, besides the writer's one.
    int http_db_connections = 4;
    // statement_timeout of the API's statements; 0: none.
    int64_t http_statement_timeout_ms = 30000;
    // Messages a live-stream client may fall behind before it is cut off.
    size_t stream_max_queue = 10000;
    // A token with every scope on every topic, from admin_token or admin_token_file;
    // empty: only tokens stored in the database work.
    std::string admin_token;
    // The broker publishes the time (epoch milliseconds) on timestamp_topic every
    // timestamp_interval seconds; 0 turns it off.
    std::string timestamp_topic = "timestamp";
    int64_t timestamp_interval = 0;

    // The book platform's routes (/get/..., /pub/..., docs/book-compat.md) beside /api/v1.
    bool book_api = true;

    // Rules and deliveries (webhooks, republish, e-mail, SMS); `rules` off disables the
    // matcher and the dispatcher on this broker.
    bool rules = true;
    // Committed messages that may wait for the matcher (while it cannot reach PostgreSQL)
    // before batches are dropped unmatched.
    size_t rules_queue_capacity = 200000;
    // Outgoing webhook targets beyond the default (public addresses only): host names,
    // `*.domain`, addresses or networks.
    std::vector<std::string> delivery_allow;
    std::vector<std::string> delivery_deny;
    int delivery_concurrency = 16;        // sends in flight at once
    int delivery_per_target = 4;          // of which to one host:port (or SMTP, or SMS)
    int64_t delivery_timeout_ms = 10000;  // per attempt, connecting included
    int delivery_max_attempts = 10;
    int64_t delivery_retry_initial_ms = 1000;  // doubles per attempt, with jitter
    int64_t delivery_retry_max_ms = 3600000;
    int64_t delivery_retention_s = int64_t{7} * 86400;  // delivered and dead rows kept this long
    // PEM bundle to verify HTTPS and SMTP servers with; empty: the system's.
    std::string delivery_ca_file;
    // E-mail: smtp://host[:port] (STARTTLS unless smtp_starttls is off) or
    // smtps://host[:port]; empty: e-mail is not configured.
    std::string smtp_url;
    std::string smtp_username;
    std::string smtp_password;
    std::string smtp_from;
    bool smtp_starttls = true;
    // SMS through the Twilio Messages API or anything speaking its form.
    std::string sms_url = "https://api.twilio.com";
    std::string sms_account_sid;
    std::string sms_auth_token;
    std::string sms_from;
};

}  // namespace culex
