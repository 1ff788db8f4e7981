// Start-up: bad options refuse to start, a missing database does not, and two brokers
// migrating one database at once do not race.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include "storage/migrations.h"
#include "support/api_broker.h"
#include "support/fixture.h"
#include "support/http_client.h"
#include "support/mqtt_subscriber.h"

using namespace culex::test;
using namespace std::chrono_literals;

TEST_CASE("a bad option stops the broker with a line naming it", "[startup]") {
    struct Case {
        PluginOpts opts;
        std::string expected;
    };
    for (const Case& c :
         {Case{
              {{"batch_max_rows", "lots"}},
              "culex: plugin_opt_batch_max_rows: expected an integer from 1 to 100000, got 'lots'"},
          Case{{{"store_topics", "a/#/b"}}, "culex: plugin_opt_store_topics:"},
          Case{{{"db_conninfo", "host='x"}}, "culex: plugin_opt_db_conninfo:"},
          Case{{{"no_such_option", "1"}}, "culex: plugin_opt_no_such_option: unknown option"}}) {
        BrokerProcess broker(c.opts);
        CHECK_FALSE(broker.wait_ready());
        auto status = broker.process().wait(10s);
        REQUIRE(status.has_value());
        CHECK(*status != 0);
        INFO(broker.log());
        CHECK(broker.log().find(c.expected) != std::string::npos);
    }
}

TEST_CASE("the broker starts while PostgreSQL is down and stores once it is up", "[startup]") {
    std::string dbname = cluster().create_database();
    PgCluster::Outage outage(cluster());
    BrokerProcess broker(plugin_opts_for(dbname));
    REQUIRE(broker.wait_ready());
    {
        MqttClient device(broker.port(), "early");
        for (int i = 0; i < 100; ++i)
            device.publish("early/t", std::to_string(i), 1);
        REQUIRE(device.wait_acked());
    }
    outage.end();
    auto db = cluster().connect(dbname);
    REQUIRE(wait_stored(*db, 100, 60s));
    CHECK(stored_count(*db) == 100);
}

TEST_CASE("two brokers migrating one database at once both come up and store", "[startup]") {
    std::string dbname = cluster().create_database();
    PluginOpts first = plugin_opts_for(dbname);
    first[1].second = "broker-one";
    PluginOpts second = plugin_opts_for(dbname);
    second[1].second = "broker-two";
    BrokerProcess one(first);
    BrokerProcess two(second);
    REQUIRE(one.wait_ready());
    REQUIRE(two.wait_ready());
    {
        MqttClient a(one.port(), "a");
        MqttClient b(two.port(), "b");
        for (int i = 0; i < 50; ++i) {
            a.publish("shared/topic", "a" + std::to_string(i), 1);
            b.publish("shared/topic", "b" + std::to_string(i), 1);
        }
        REQUIRE(a.wait_acked());
        REQUIRE(b.wait_acked());
    }
    auto db = cluster().connect(dbname);
    REQUIRE(wait_stored(*db, 100, 60s));
    CHECK(query_value(*db, "SELECT count(*) FROM culex.schema_migrations") ==
          std::to_string(culex::kMigrationCount));
    CHECK(query_value(*db, "SELECT count(*) FROM culex.topics WHERE name = 'shared/topic'") == "1");
    CHECK(query_value(*db,
                      "SELECT string_agg(broker, ',' ORDER BY broker) FROM"
                      " (SELECT DISTINCT broker FROM culex.messages) b") ==
          "broker-one,broker-two");

    // A restart finds the schema current and applies nothing twice.
    CHECK(one.terminate(30s) == 0);
    BrokerProcess again(first);
    REQUIRE(again.wait_ready());
    {
        MqttClient a(again.port(), "a2");
        a.publish("shared/topic", "after restart", 1);
        REQUIRE(a.wait_acked());
    }
    REQUIRE(wait_stored(*db, 101, 60s));
    CHECK(query_value(*db, "SELECT count(*) FROM culex.schema_migrations") ==
          std::to_string(culex::kMigrationCount));
}

TEST_CASE("with per_listener_settings true messages are stored and the admin is told about ticks",
          "[startup]") {
    std::string dbname = cluster().create_database();
    BrokerProcess broker(plugin_opts_for(dbname), true, "per_listener_settings true\n");
    REQUIRE(broker.wait_ready());
    MqttClient device(broker.port(), "pls");
    device.publish("pls/t", "first", 1);
    REQUIRE(device.wait_acked());
    auto db = cluster().connect(dbname);
    REQUIRE(wait_stored(*db, 1, 30s));
    // The warning comes with the first message after 5 s without a tick event.
    const std::string warning = "culex: the broker sends no tick events";
    bool warned = wait_until(
        [&] {
            device.publish("pls/t", "again", 1);
            return broker.log().find(warning) != std::string::npos;
        },
        30s);
    CHECK(warned);
}

TEST_CASE("a first start on an empty database logs no error and counts none", "[startup]") {
    const std::string token = "startup-admin-token-0123456789";
    ApiBroker api(token);
    HttpClient http(api.base, token);
    // The matcher and the dispatcher both at work: a rule republishes a message.
    Subscriber out(api.broker.port(), "first/out");
    REQUIRE(http.post_json("/api/v1/rules", R"({"name": "first", "topic_filter": "first/in",
        "actions": [{"type": "republish", "topic": "first/out"}]})")
                .status == 201);
    MqttClient device(api.broker.port(), "first-device");
    // Rules load within a reload period; publish until the republished copy arrives.
    REQUIRE(wait_until(
        [&] {
            device.publish("first/in", "hello", 1);
            return out.count() > 0;
        },
        30s));
    const std::string metrics = http.get("/metrics").body;
    CHECK(metrics.find("\nculex_database_errors_total 0\n") != std::string::npos);
    CHECK(metrics.find("\nculex_delivery_database_errors_total 0\n") != std::string::npos);
    const std::string log = api.broker.log();
    INFO(log);
    CHECK(log.find("does not exist") == std::string::npos);
    CHECK(log.find("deliveries wait") == std::string::npos);
    CHECK(log.find("Warning") == std::string::npos);
    CHECK(log.find("Error") == std::string::npos);
}

TEST_CASE("timestamps before the schema exists go out unclaimed and quietly, then are claimed",
          "[startup]") {
    const std::string dbname = cluster().create_database();
    auto holder = cluster().connect(dbname);
    // The writer's migrations wait behind this lock, so the schema stays missing.
    REQUIRE(holder->exec("BEGIN").ok());
    REQUIRE(holder->exec("SELECT pg_advisory_xact_lock(7240117433690218533)").ok());
    BrokerProcess broker(
        plugin_opts_for(dbname, {{"timestamp_interval", "1"}, {"timestamp_topic", "clock/first"}}));
    REQUIRE(broker.wait_ready());
    Subscriber sub(broker.port(), "clock/first");
    REQUIRE(wait_until([&] { return sub.count() >= 2; }, 30s));
    CHECK(query_value(*holder, "SELECT to_regclass('culex.timestamp_slots') IS NULL") == "t");
    REQUIRE(holder->exec("COMMIT").ok());
    auto db = cluster().connect(dbname);
    REQUIRE(wait_until(
        [&] {
            return query_value(*db, "SELECT to_regclass('culex.timestamp_slots') IS NOT NULL") ==
                       "t" &&
                   query_value(*db,
                               "SELECT count(*) FROM culex.timestamp_slots"
                               " WHERE topic = 'clock/first'") == "1";
        },
        30s));
    const size_t seen = sub.count();
    REQUIRE(wait_until([&] { return sub.count() >= seen + 2; }, 30s));
    const std::string log = broker.log();
    INFO(log);
    CHECK(log.find("cannot claim") == std::string::npos);
    CHECK(log.find("Warning") == std::string::npos);
    CHECK(log.find("Error") == std::string::npos);
}

namespace {

struct ThreadState {
    std::string name;
    int nice = 0;
    int policy = 0;  // SCHED_OTHER 0, SCHED_BATCH 3
};

// Every thread of process `pid` from /proc, by thread id.
std::map<int, ThreadState> threads_of(pid_t pid) {
    std::map<int, ThreadState> threads;
    const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
    std::error_code ec;
    for (const auto& task : std::filesystem::directory_iterator(tasks, ec)) {
        std::ifstream stat(task.path() / "stat");
        std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
        const size_t open = text.find('(');
        const size_t close = text.rfind(')');
        if (open == std::string::npos || close == std::string::npos)
            continue;  // the thread ended meanwhile
        // After the name come the fields from the 3rd (state) on: nice is the 19th,
        // policy the 41st (proc(5)).
        std::istringstream fields(text.substr(close + 2));
        std::vector<std::string> field{std::istream_iterator<std::string>(fields),
                                       std::istream_iterator<std::string>()};
        if (field.size() < 39)
            continue;
        threads[std::stoi(task.path().filename().string())] = {
            text.substr(open + 1, close - open - 1), std::stoi(field[16]), std::stoi(field[38])};
    }
    return threads;
}

}  // namespace

TEST_CASE("Culex's threads run below the broker thread as worker_nice and worker_sched say",
          "[startup]") {
    const std::string kToken = "priority-admin-token-0123456789";
    // Every kind of thread Culex starts: writer, maintenance, matcher, dispatcher,
    // timestamp, HTTP front end and civetweb's.
    ApiBroker api(kToken, {{"worker_nice", "7"},
                           {"worker_sched", "batch"},
                           {"timestamp_interval", "1"},
                           {"http_threads", "4"}});
    const pid_t pid = api.broker.process().pid();
    const std::set<std::string> expected = {"culex-writer",   "culex-maint",     "culex-matcher",
                                            "culex-dispatch", "culex-timestamp", "culex-frontend",
                                            "culex-http"};
    std::map<int, ThreadState> threads;
    auto all_lowered = [&] {
        threads = threads_of(pid);
        std::set<std::string> seen;
        for (const auto& [tid, state] : threads) {
            if (tid == pid)
                continue;
            if (state.nice != 7 || state.policy != 3)
                return false;
            seen.insert(state.name);
        }
        return seen == expected;
    };
    const bool lowered = wait_until(all_lowered, 10s);
    for (const auto& [tid, state] : threads)
        UNSCOPED_INFO(tid << " " << state.name << " nice " << state.nice << " policy "
                          << state.policy);
    CHECK(lowered);
    REQUIRE(threads.count(pid) == 1);
    CHECK(threads[pid].name == "mosquitto");
    CHECK(threads[pid].nice == 0);
    CHECK(threads[pid].policy == 0);
    // Lowered threads still do their work.
    MqttClient device(api.broker.port(), "prio");
    device.publish("prio/t", "1", 1);
    REQUIRE(device.wait_acked());
    auto db = cluster().connect(api.db);
    CHECK(wait_stored(*db, 1, 30s));
    HttpClient http(api.base, kToken);
    CHECK(http.get("/api/v1/messages?topic=prio/t").status == 200);
}
