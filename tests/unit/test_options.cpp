#include <catch2/catch.hpp>
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
