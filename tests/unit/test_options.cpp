#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "plugin/options.h"

using culex::parse_options;
using culex::PluginOption;

namespace {
std::string error_of(const std::vector<PluginOption>& options) {
    auto result = parse_options(options, "host");
    REQUIRE_FALSE(result.is_ok());
    return result.status().message();
}
}  // namespace

TEST_CASE("defaults apply when no option is given", "[options]") {
    auto result = parse_options({}, "myhost");
    REQUIRE(result.is_ok());
    const culex::Config& c = result.value();
    CHECK(c.broker_id == "myhost");
    CHECK(c.db_conninfo.empty());
    CHECK(c.store_topics == std::vector<std::string>{"#"});
    CHECK(c.exclude_topics.empty());
    CHECK(c.batch_max_rows == 5000);
    CHECK(c.batch_max_ms == 10);
    CHECK(c.queue_capacity == 1000000);
    CHECK(c.queue_max_bytes == size_t{512} << 20);
    CHECK(c.store_json);
    CHECK(c.spool_dir.empty());
    CHECK(c.spool_max_bytes == size_t{1} << 30);
    CHECK(c.spool_threshold == 20000);
    CHECK(c.http_listen == "127.0.0.1:8080");
    CHECK(c.http_threads == 16);
    CHECK(c.http_max_body == size_t{1} << 20);
    CHECK(c.http_db_connections == 4);
    CHECK(c.http_tls_cert.empty());
    CHECK(c.admin_token.empty());
}

TEST_CASE("worker priority options, at their bounds", "[options]") {
    auto result = parse_options({{"worker_nice", "19"}, {"worker_sched", "batch"}}, "h");
    REQUIRE(result.is_ok());
    CHECK(result.value().worker_priority.nice == 19);
    CHECK(result.value().worker_priority.batch);
    auto lowest = parse_options({{"worker_nice", "0"}, {"worker_sched", "normal"}}, "h");
    REQUIRE(lowest.is_ok());
    CHECK(lowest.value().worker_priority.nice == 0);
    CHECK_FALSE(lowest.value().worker_priority.batch);
    CHECK(error_of({{"worker_nice", "20"}}) ==
          "plugin_opt_worker_nice: expected an integer from 0 to 19, got '20'");
    CHECK(error_of({{"worker_nice", "-1"}}) ==
          "plugin_opt_worker_nice: expected an integer from 0 to 19, got '-1'");
    CHECK(error_of({{"worker_sched", "idle"}}) ==
          "plugin_opt_worker_sched: expected normal or batch, not 'idle'");
}

TEST_CASE("HTTP options", "[options]") {
    auto result = parse_options({{"http_listen", "0.0.0.0:9000"},
                                 {"http_threads", "32"},
                                 {"http_max_body", "64k"},
                                 {"http_db_connections", "8"},
                                 {"admin_token", "0123456789abcdef"}},
                                "h");
    REQUIRE(result.is_ok());
    CHECK(result.value().http_listen == "0.0.0.0:9000");
    CHECK(result.value().http_threads == 32);
    CHECK(result.value().http_max_body == 65536);
    CHECK(result.value().http_db_connections == 8);
    CHECK(result.value().admin_token == "0123456789abcdef");
    auto off = parse_options({{"http_listen", "off"}}, "h");
    REQUIRE(off.is_ok());
    CHECK(off.value().http_listen.empty());

    CHECK(
        error_of({{"http_listen", "localhost:80"}}).rfind("plugin_opt_http_listen: expected", 0) ==
        0);
    CHECK(error_of({{"http_listen", "127.0.0.1"}}).rfind("plugin_opt_http_listen:", 0) == 0);
    CHECK(error_of({{"http_listen", "127.0.0.1:0"}}).rfind("plugin_opt_http_listen:", 0) == 0);
    CHECK(error_of({{"http_listen", "::1:80"}}).rfind("plugin_opt_http_listen:", 0) == 0);
    CHECK(error_of({{"http_threads", "1"}}).rfind("plugin_opt_http_threads:", 0) == 0);
    CHECK(error_of({{"http_max_body", "10"}}) ==
          "plugin_opt_http_max_body: expected a size from 1k to 1024G (bytes, or with a k/M/G "
          "suffix), got '10'");
    CHECK(error_of({{"http_tls_cert", "/nonexistent.pem"}}) ==
          "plugin_opt_http_tls_cert: cannot read file '/nonexistent.pem'");
    CHECK(
        error_of({{"admin_token", "short"}}).rfind("plugin_opt_admin_token: the admin token", 0) ==
        0);
    CHECK(error_of({{"admin_token", "has a space in it!!"}}).rfind("plugin_opt_admin_token:", 0) ==
          0);
    CHECK(error_of({{"admin_token_file", "/nonexistent"}}) ==
          "plugin_opt_admin_token_file: cannot read file '/nonexistent'");
    const std::string token_file = "/tmp/culex-test-admin-token";
    std::ofstream(token_file) << "  from-a-file-0123456789  \nsecond line\n";
    auto from_file = parse_options({{"admin_token_file", token_file}}, "h");
    REQUIRE(from_file.is_ok());
    CHECK(from_file.value().admin_token == "from-a-file-0123456789");
    CHECK(error_of({{"admin_token", "0123456789abcdef"}, {"admin_token_file", token_file}})
              .rfind("plugin_opt_admin_token_file: give admin_token or admin_token_file", 0) == 0);
    std::remove(token_file.c_str());
}

TEST_CASE("every option is parsed, values trimmed", "[options]") {
    auto result = parse_options({{"db_conninfo", " host=/tmp dbname=iot "},
                                 {"broker_id", "edge-1"},
                                 {"store_topics", "sensors/#"},
                                 {"store_topics", "meters/+/power"},
                                 {"exclude_topics", "sensors/debug/#"},
                                 {"batch_max_rows", "100"},
                                 {"batch_max_ms", "0"},
                                 {"queue_capacity", "5000"},
                                 {"queue_max_bytes", "64M"},
                                 {"store_json", "false"},
                                 {"db_retry_max_ms", "500"},
                                 {"shutdown_timeout_ms", "2500"},
                                 {"spool_dir", "/var/lib/culex/spool"},
                                 {"spool_max_bytes", "2G"},
                                 {"spool_threshold", "4000"}},
                                "host");
    REQUIRE(result.is_ok());
    const culex::Config& c = result.value();
    CHECK(c.db_conninfo == "host=/tmp dbname=iot");
    CHECK(c.broker_id == "edge-1");
    CHECK(c.store_topics == std::vector<std::string>{"sensors/#", "meters/+/power"});
    CHECK(c.exclude_topics == std::vector<std::string>{"sensors/debug/#"});
    CHECK(c.batch_max_rows == 100);
    CHECK(c.batch_max_ms == 0);
    CHECK(c.queue_capacity == 5000);
    CHECK(c.queue_max_bytes == size_t{64} << 20);
    CHECK_FALSE(c.store_json);
    CHECK(c.db_retry_max_ms == 500);
    CHECK(c.shutdown_timeout_ms == 2500);
    CHECK(c.spool_dir == "/var/lib/culex/spool");
    CHECK(c.spool_max_bytes == size_t{2} << 30);
    CHECK(c.spool_threshold == 4000);
}

TEST_CASE("spool_threshold follows a small queue_capacity unless set", "[options]") {
    auto result = parse_options({{"queue_capacity", "5000"}}, "host");
    REQUIRE(result.is_ok());
    CHECK(result.value().spool_threshold == 2500);
    CHECK(error_of({{"queue_capacity", "5000"}, {"spool_threshold", "5000"}}) ==
          "plugin_opt_spool_threshold: must be below queue_capacity (5000)");
}

TEST_CASE("bad values give one line naming the option", "[options]") {
    CHECK(error_of({{"batch_max_rows", "abc"}}) ==
          "plugin_opt_batch_max_rows: expected an integer from 1 to 100000, got 'abc'");
    CHECK(error_of({{"batch_max_rows", "0"}}).rfind("plugin_opt_batch_max_rows:", 0) == 0);
    CHECK(error_of({{"batch_max_rows", "12x"}}).rfind("plugin_opt_batch_max_rows:", 0) == 0);
    CHECK(error_of({{"queue_capacity", "-5"}}).rfind("plugin_opt_queue_capacity:", 0) == 0);
    CHECK(error_of({{"queue_max_bytes", "10T"}}).rfind("plugin_opt_queue_max_bytes:", 0) == 0);
    CHECK(error_of({{"queue_max_bytes", "2000G"}}).rfind("plugin_opt_queue_max_bytes:", 0) == 0);
    CHECK(error_of({{"store_json", "yes"}}) ==
          "plugin_opt_store_json: expected true or false, got 'yes'");
    CHECK(error_of({{"store_topics", "a/#/b"}}).rfind("plugin_opt_store_topics: '#'", 0) == 0);
    CHECK(error_of({{"exclude_topics", ""}}) ==
          "plugin_opt_exclude_topics: topic filter is empty ('')");
    CHECK(error_of({{"broker_id", "a b"}}).rfind("plugin_opt_broker_id:", 0) == 0);
    CHECK(error_of({{"db_conninfo", "host='unterminated"}}).rfind("plugin_opt_db_conninfo:", 0) ==
          0);
    CHECK(error_of({{"db_conninfo", "nonsense_key=1"}}).rfind("plugin_opt_db_conninfo:", 0) == 0);
    CHECK(error_of({{"batch_max_rows", "1"}, {"batch_max_rows", "2"}}) ==
          "plugin_opt_batch_max_rows: given more than once");
    CHECK(error_of({{"spool_dir", ""}}) == "plugin_opt_spool_dir: expected a directory");
    CHECK(error_of({{"spool_max_bytes", "1k"}}).rfind("plugin_opt_spool_max_bytes:", 0) == 0);
    CHECK(error_of({{"batchmaxrows", "1"}})
              .rfind("plugin_opt_batchmaxrows: unknown option (known: ", 0) == 0);
}

TEST_CASE("rule and delivery options", "[options]") {
    auto defaults = parse_options({}, "host");
    REQUIRE(defaults.is_ok());
    CHECK(defaults.value().rules);
    CHECK(defaults.value().book_api);
    CHECK_FALSE(parse_options({{"book_api", "false"}}, "host").value().book_api);
    CHECK(error_of({{"book_api", "no"}}) ==
          "plugin_opt_book_api: expected true or false, got 'no'");
    CHECK(defaults.value().delivery_concurrency == 16);
    CHECK(defaults.value().delivery_max_attempts == 10);
    CHECK(defaults.value().sms_url == "https://api.twilio.com");
    CHECK(defaults.value().smtp_starttls);
    CHECK(defaults.value().delivery_allow.empty());

    auto set = parse_options({{"rules", "false"},
                              {"delivery_allow", "10.0.0.0/8"},
                              {"delivery_allow", "*.hooks.example.com"},
                              {"delivery_deny", "fd00::/8"},
                              {"delivery_timeout_ms", "2500"},
                              {"smtp_url", "smtps://mail.example.com:465"},
                              {"smtp_from", "iot@example.com"},
                              {"sms_url", "http://127.0.0.1:9000/"},
                              {"sms_account_sid", "AC1"}},
                             "host");
    REQUIRE(set.is_ok());
    CHECK_FALSE(set.value().rules);
    CHECK(set.value().delivery_allow ==
          std::vector<std::string>{"10.0.0.0/8", "*.hooks.example.com"});
    CHECK(set.value().delivery_deny == std::vector<std::string>{"fd00::/8"});
    CHECK(set.value().delivery_timeout_ms == 2500);
    CHECK(set.value().sms_url == "http://127.0.0.1:9000");

    CHECK(error_of({{"delivery_allow", "10.0.0.0/33"}}).rfind("plugin_opt_delivery_allow: ", 0) ==
          0);
    CHECK(error_of({{"delivery_deny", "not a host"}}).rfind("plugin_opt_delivery_deny: ", 0) == 0);
    CHECK(
        error_of({{"smtp_url", "http://mail"}}).rfind("plugin_opt_smtp_url: expected smtp://", 0) ==
        0);
    CHECK(error_of({{"smtp_from", "nobody"}}).rfind("plugin_opt_smtp_from: ", 0) == 0);
    CHECK(error_of({{"sms_url", "ftp://x"}}).rfind("plugin_opt_sms_url: ", 0) == 0);
    CHECK(error_of({{"delivery_concurrency", "0"}}).rfind("plugin_opt_delivery_concurrency: ", 0) ==
          0);
    CHECK(error_of({{"delivery_concurrency", "2"}, {"delivery_per_target", "3"}}) ==
          "plugin_opt_delivery_per_target: must not be above delivery_concurrency");
    CHECK(error_of({{"delivery_retry_initial_ms", "5000"}, {"delivery_retry_max_ms", "1000"}}) ==
          "plugin_opt_delivery_retry_max_ms: must not be below delivery_retry_initial_ms");
    CHECK(error_of({{"smtp_password", "a"}, {"smtp_password_file", "/etc/hostname"}}) ==
          "plugin_opt_smtp_password_file: give smtp_password or smtp_password_file, not both");
    CHECK(error_of({{"sms_auth_token_file", "/nonexistent"}})
              .rfind("plugin_opt_sms_auth_token_file: cannot read", 0) == 0);
}

TEST_CASE("queue_full and http_statement_timeout_ms: defaults, every value, the extremes",
          "[options]") {
    auto defaults = parse_options({}, "host");
    REQUIRE(defaults.is_ok());
    CHECK(defaults.value().queue_full == culex::Config::QueueFull::kDeliver);
    CHECK(defaults.value().http_statement_timeout_ms == 30000);
    auto reject =
        parse_options({{"queue_full", "reject_v5"}, {"http_statement_timeout_ms", "0"}}, "host");
    REQUIRE(reject.is_ok());
    CHECK(reject.value().queue_full == culex::Config::QueueFull::kRejectV5);
    CHECK(reject.value().http_statement_timeout_ms == 0);  // no limit
    auto deliver = parse_options(
        {{"queue_full", "deliver"}, {"http_statement_timeout_ms", "86400000"}}, "host");
    REQUIRE(deliver.is_ok());
    CHECK(deliver.value().queue_full == culex::Config::QueueFull::kDeliver);
    CHECK(deliver.value().http_statement_timeout_ms == 86400000);
    CHECK(error_of({{"queue_full", "reject"}}) ==
          "plugin_opt_queue_full: expected deliver or reject_v5, not 'reject'");
    CHECK(error_of({{"http_statement_timeout_ms", "86400001"}})
              .rfind("plugin_opt_http_statement_timeout_ms:", 0) == 0);
    CHECK(error_of({{"http_statement_timeout_ms", "-1"}})
              .rfind("plugin_opt_http_statement_timeout_ms:", 0) == 0);
}

TEST_CASE("partition and retention options: defaults, units, both ends of each range",
          "[options]") {
    auto defaults = parse_options({}, "host");
    REQUIRE(defaults.is_ok());
    const culex::Config& d = defaults.value();
    CHECK(d.partition_interval_s == 86400);
    CHECK(d.retention_s == 0);
    CHECK(d.retention_topics.empty());
    CHECK(d.trash_retention_s == 0);
    CHECK(d.maintenance_interval_s == 600);

    auto lowest = parse_options({{"partition_interval", "1h"},
                                 {"retention", "1h"},
                                 {"retention_topics", "debug/# 1m"},
                                 {"retention_topics", "sensors/+/raw  7d"},
                                 {"trash_retention", "1m"},
                                 {"maintenance_interval", "1s"}},
                                "host");
    REQUIRE(lowest.is_ok());
    const culex::Config& l = lowest.value();
    CHECK(l.partition_interval_s == 3600);
    CHECK(l.retention_s == 3600);
    REQUIRE(l.retention_topics.size() == 2);
    CHECK(l.retention_topics[0].filter == "debug/#");
    CHECK(l.retention_topics[0].age_s == 60);
    CHECK(l.retention_topics[1].filter == "sensors/+/raw");
    CHECK(l.retention_topics[1].age_s == 7 * 86400);
    CHECK(l.trash_retention_s == 60);
    CHECK(l.maintenance_interval_s == 1);

    auto highest = parse_options({{"partition_interval", "30d"},
                                  {"retention", "36500d"},
                                  {"trash_retention", "off"},
                                  {"maintenance_interval", "1d"}},
                                 "host");
    REQUIRE(highest.is_ok());
    CHECK(highest.value().partition_interval_s == 30 * 86400);
    CHECK(highest.value().retention_s == int64_t{36500} * 86400);
    CHECK(highest.value().trash_retention_s == 0);
    CHECK(highest.value().maintenance_interval_s == 86400);
    auto off = parse_options({{"partition_interval", "off"}, {"retention", "off"}}, "host");
    REQUIRE(off.is_ok());
    CHECK(off.value().partition_interval_s == 0);
    CHECK(off.value().retention_s == 0);
    CHECK(parse_options({{"partition_interval", "720h"}}, "host").value().partition_interval_s ==
          30 * 86400);

    CHECK(error_of({{"partition_interval", "59m"}}) ==
          "plugin_opt_partition_interval: expected off or a duration from 1h to 30d (a number "
          "and s, m, h or d), got '59m'");
    CHECK(error_of({{"partition_interval", "721h"}}).rfind("plugin_opt_partition_interval:", 0) ==
          0);
    CHECK(error_of({{"partition_interval", "90m"}}) ==
          "plugin_opt_partition_interval: expected whole hours (like 6h or 1d), got '90m'");
    CHECK(error_of({{"partition_interval", "1"}}).rfind("plugin_opt_partition_interval:", 0) == 0);
    CHECK(error_of({{"partition_interval", ""}}).rfind("plugin_opt_partition_interval:", 0) == 0);
    CHECK(error_of({{"retention", "59m"}}).rfind("plugin_opt_retention: expected off or", 0) == 0);
    CHECK(error_of({{"retention", "36501d"}}).rfind("plugin_opt_retention:", 0) == 0);
    CHECK(error_of({{"retention", "-1d"}}).rfind("plugin_opt_retention:", 0) == 0);
    CHECK(error_of({{"retention", "1w"}}).rfind("plugin_opt_retention:", 0) == 0);
    CHECK(error_of({{"retention_topics", "debug/#"}}) ==
          "plugin_opt_retention_topics: expected a topic filter and an age, like "
          "'sensors/+/raw 7d'");
    CHECK(error_of({{"retention_topics", "a/#/b 1d"}}).rfind("plugin_opt_retention_topics:", 0) ==
          0);
    CHECK(error_of({{"retention_topics", "debug/# 59s"}}) ==
          "plugin_opt_retention_topics: expected a duration from 1m to 36500d (a number and s, "
          "m, h or d), got '59s'");
    CHECK(
        error_of({{"retention_topics", "debug/# off"}}).rfind("plugin_opt_retention_topics:", 0) ==
        0);
    CHECK(error_of({{"trash_retention", "59s"}}).rfind("plugin_opt_trash_retention:", 0) == 0);
    CHECK(error_of({{"maintenance_interval", "0s"}}) ==
          "plugin_opt_maintenance_interval: expected a duration from 1s to 1d (a number and s, m, "
          "h or d), got '0s'");
    CHECK(
        error_of({{"maintenance_interval", "25h"}}).rfind("plugin_opt_maintenance_interval:", 0) ==
        0);
    CHECK(
        error_of({{"maintenance_interval", "off"}}).rfind("plugin_opt_maintenance_interval:", 0) ==
        0);
    CHECK(error_of({{"retention", "1d"}, {"retention", "2d"}}) ==
          "plugin_opt_retention: given more than once");
}

TEST_CASE("exclude_clients: none by default, repeatable, 1 to 1024 characters", "[options]") {
    auto defaults = parse_options({}, "host");
    REQUIRE(defaults.is_ok());
    CHECK(defaults.value().exclude_clients.empty());
    CHECK_FALSE(defaults.value().exclude_clients.matches("host.to_a"));

    const std::string longest(1024, 'x');
    auto given = parse_options(
        {{"exclude_clients", " bridge-* "}, {"exclude_clients", "*"}, {"exclude_clients", longest}},
        "host");
    REQUIRE(given.is_ok());
    const auto& patterns = given.value().exclude_clients.patterns();
    REQUIRE(patterns.size() == 3);
    CHECK(patterns[0].text() == "bridge-*");
    CHECK(patterns[1].text() == "*");
    CHECK(patterns[2].text() == longest);
    auto one = parse_options({{"exclude_clients", "b"}}, "host");
    REQUIRE(one.is_ok());
    CHECK(one.value().exclude_clients.matches("b"));
    CHECK_FALSE(one.value().exclude_clients.matches("bb"));

    CHECK(error_of({{"exclude_clients", ""}}) ==
          "plugin_opt_exclude_clients: expected a pattern of 1 to 1024 characters ('')");
    CHECK(error_of({{"exclude_clients", std::string(1025, 'x')}})
              .rfind("plugin_opt_exclude_clients: expected a pattern of 1 to 1024 characters", 0) ==
          0);
    CHECK(error_of({{"exclude_clients", "a\x01*"}}) ==
          "plugin_opt_exclude_clients: control characters are not allowed in a pattern "
          "('a\x01*')");
}

TEST_CASE("db_read_conninfo and read_max_lag_ms: defaults, both ends of the range, past them",
          "[options]") {
    auto defaults = parse_options({}, "host");
    REQUIRE(defaults.is_ok());
    CHECK(defaults.value().db_read_conninfo.empty());  // no standby: every read on the primary
    CHECK(defaults.value().read_max_lag_ms == 5000);
    auto lowest = parse_options(
        {{"db_read_conninfo", " host=standby dbname=iot "}, {"read_max_lag_ms", "0"}}, "host");
    REQUIRE(lowest.is_ok());
    CHECK(lowest.value().db_read_conninfo == "host=standby dbname=iot");
    CHECK(lowest.value().read_max_lag_ms == 0);
    auto highest = parse_options(
        {{"db_read_conninfo", "postgresql://culex@standby/iot"}, {"read_max_lag_ms", "3600000"}},
        "host");
    REQUIRE(highest.is_ok());
    CHECK(highest.value().db_read_conninfo == "postgresql://culex@standby/iot");
    CHECK(highest.value().read_max_lag_ms == 3600000);
    auto none = parse_options({{"db_read_conninfo", ""}}, "host");
    REQUIRE(none.is_ok());
    CHECK(none.value().db_read_conninfo.empty());
    CHECK(error_of({{"read_max_lag_ms", "3600001"}}) ==
          "plugin_opt_read_max_lag_ms: expected an integer from 0 to 3600000, got '3600001'");
    CHECK(error_of({{"read_max_lag_ms", "-1"}}).rfind("plugin_opt_read_max_lag_ms:", 0) == 0);
    CHECK(error_of({{"read_max_lag_ms", "5s"}}).rfind("plugin_opt_read_max_lag_ms:", 0) == 0);
    CHECK(error_of({{"db_read_conninfo", "host='unterminated"}})
              .rfind("plugin_opt_db_read_conninfo:", 0) == 0);
    CHECK(error_of({{"db_read_conninfo", "nonsense_key=1"}})
              .rfind("plugin_opt_db_read_conninfo:", 0) == 0);
    CHECK(error_of({{"db_read_conninfo", "host=a"}, {"db_read_conninfo", "host=b"}}) ==
          "plugin_opt_db_read_conninfo: given more than once");
}
