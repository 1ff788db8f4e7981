// Two brokers with Culex on one database, joined by a real mosquitto bridge (broker B's
// `connection to_a`, `topic # both 1`, both ends named bridge-* and excluded with
// exclude_clients on both brokers): every message stored once, by the broker its
// publisher used; a rule fired once per message; nothing published to one broker lost
// while the other is killed; bridged messages on the live stream; one periodic
// timestamp per interval between the two brokers, and one from each while PostgreSQL
// is down.
#include <rapidjson/document.h>
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <set>

#include "common/base64.h"
#include "support/api_broker.h"
#include "support/fixture.h"
#include "support/http_client.h"
#include "support/mqtt_subscriber.h"
#include "support/publisher.h"
#include "support/receivers.h"
#include "support/stream_reader.h"

using namespace culex;
using namespace culex::test;
using std::chrono::seconds;

namespace {

constexpr const char* kToken = "many-brokers-admin-token-0123";

// Broker B's bridge to A, named as docs/storage.md ("Many brokers on one database")
// advises, so that `exclude_clients bridge-*` matches both of its ends.
std::string bridge_to(int port) {
    return "connection to_a\n"
           "address 127.0.0.1:" +
           std::to_string(port) +
           "\n"
           "topic # both 1\n"
           "remote_clientid bridge-b-to-a\n"
           "local_clientid bridge-b-local\n"
           "try_private true\n"
           "cleansession false\n"
           "restart_timeout 1\n";
}

PluginOpts broker_opts(const std::string& broker_id, int http_port, const PluginOpts& extra) {
    PluginOpts opts = {{"broker_id", broker_id},
                       {"http_listen", "127.0.0.1:" + std::to_string(http_port)},
                       {"admin_token", kToken},
                       {"exclude_clients", "bridge-*"}};
    opts.insert(opts.end(), extra.begin(), extra.end());
    return opts;
}

// The text of one metric's sample, e.g. "culex_queue_depth 0", or "" when absent.
std::string metric(HttpClient& http, const std::string& name) {
    const std::string body = http.get("/metrics").body;
    const size_t at = body.find("\n" + name + " ");
    if (at == std::string::npos)
        return "";
    return body.substr(at + 1, body.find('\n', at + 1) - at - 1);
}

std::string base(int http_port) {
    return "http://127.0.0.1:" + std::to_string(http_port);
}

struct TwoBrokers {
    explicit TwoBrokers(const PluginOpts& extra = {})
        : db(cluster().create_database()),
          a_http(free_port()),
          b_http(free_port()),
          a(plugin_opts_for(db, broker_opts("broker-a", a_http, extra))),
          b(plugin_opts_for(db, broker_opts("broker-b", b_http, extra)), true, "",
            bridge_to(a.port())),
          api_a(base(a_http), kToken),
          api_b(base(b_http), kToken) {
        REQUIRE(a.wait_ready());
        REQUIRE(b.wait_ready());
        wait_api(api_a);
        wait_api(api_b);
        wait_bridged();
    }

    static void wait_api(HttpClient& http) {
        REQUIRE(wait_until([&] { return http.get("/readyz").status == 200; },
                           std::chrono::seconds(30)));
    }

    // Until a message published on each broker reaches a subscriber of the other: the
    // bridge is connected and has subscribed on both sides.
    void wait_bridged() {
        Subscriber on_a(a.port(), "probe/#");
        Subscriber on_b(b.port(), "probe/#");
        MqttClient to_a(a.port(), "prober-a");
        MqttClient to_b(b.port(), "prober-b");
        INFO("broker B log:\n" << b.log());
        REQUIRE(wait_until(
            [&] {
                to_a.publish("probe/a", "ping", 1);
                to_b.publish("probe/b", "ping", 1);
                auto seen = [](Subscriber& s, const std::string& topic) {
                    for (const Received& r : s.received())
                        if (r.topic == topic)
                            return true;
                    return false;
                };
                return seen(on_a, "probe/b") && seen(on_b, "probe/a");
            },
            seconds(30)));
    }

    // Until both writers have stored or spooled everything they accepted.
    void wait_written() {
        for (HttpClient* http : {&api_a, &api_b}) {
            REQUIRE(wait_until(
                [&] { return metric(*http, "culex_queue_depth") == "culex_queue_depth 0"; },
                seconds(30)));
        }
    }

    std::string db;
    int a_http;
    int b_http;
    BrokerProcess a;
    BrokerProcess b;
    HttpClient api_a;
    HttpClient api_b;
};

// The payloads under `topic_like` stored more than once (each test message has a payload
// of its own), with the clients that were stored as sending them; empty when none is.
std::string stored_twice(PgConnection& db, const std::string& topic_like) {
    return query_value(db,
                       "SELECT coalesce(string_agg(payload_text || ' from ' || clients, ', '), '')"
                       " FROM (SELECT payload_text, string_agg(client_id, '+') AS clients"
                       " FROM culex.messages WHERE topic LIKE $1 GROUP BY 1"
                       " HAVING count(*) > 1) s",
                       {topic_like});
}

long count_of(PgConnection& db, const std::string& sql, const std::vector<std::string>& params) {
    return std::stol(query_value(db, sql.c_str(), params));
}

}  // namespace

TEST_CASE("bridged brokers store every message once, by the broker its publisher used",
          "[many_brokers]") {
    TwoBrokers t;
    StreamReader stream_a(base(t.a_http) + "/api/v1/stream?filter=" + url_encode("many/#"), kToken);
    REQUIRE(
        wait_until([&] { return stream_a.text().find(": culex live stream") != std::string::npos; },
                   seconds(10)));
    Subscriber on_a(t.a.port(), "many/#");
    Subscriber on_b(t.b.port(), "many/#");
    MqttClient device_a(t.a.port(), "device-a");
    MqttClient device_b(t.b.port(), "device-b");
    constexpr int kEach = 200;
    for (int i = 0; i < kEach; ++i) {
        device_a.publish("many/a", "a-" + std::to_string(i), 1);
        device_b.publish("many/b", "b-" + std::to_string(i), 1);
    }
    REQUIRE(device_a.wait_acked());
    REQUIRE(device_b.wait_acked());
    // Each broker routed both devices' messages, so each has taken every one of them
    // through its intake once the subscribers have them all.
    REQUIRE(wait_until([&] { return on_a.count() == 2 * kEach && on_b.count() == 2 * kEach; },
                       seconds(30)));
    t.wait_written();

    auto db = cluster().connect(t.db);
    CHECK(stored_twice(*db, "many/%") == "");
    CHECK(count_of(*db, "SELECT count(*) FROM culex.messages WHERE topic LIKE 'many/%'", {}) ==
          2 * kEach);
    CHECK(
        query_value(*db,
                    "SELECT string_agg(DISTINCT client_id || '@' || broker, ' ' ORDER BY"
                    " client_id || '@' || broker) FROM culex.messages WHERE topic LIKE 'many/%'") ==
        "device-a@broker-a device-b@broker-b");
    for (HttpClient* http : {&t.api_a, &t.api_b}) {
        const std::string excluded = metric(*http, "culex_messages_excluded_total");
        INFO(excluded);
        CHECK(std::stol(excluded.substr(excluded.find(' ') + 1)) >= kEach);
    }

    // A's live stream carries what A routes: its own devices' and the bridged ones.
    REQUIRE(wait_until([&] { return stream_a.events().size() >= 2 * kEach; }, seconds(10)));
    std::set<std::string> shown;
    for (const auto& [id, payload] : stream_a.events())
        shown.insert(payload);
    CHECK(shown.size() == 2 * kEach);
    CHECK(shown.count("b-0") == 1);
    CHECK(shown.count("b-" + std::to_string(kEach - 1)) == 1);
    CHECK(shown.count("a-0") == 1);
}

TEST_CASE("a rule fires once per matching message, whichever broker stored it", "[many_brokers]") {
    Receivers receivers;
    TwoBrokers t({{"delivery_allow", "127.0.0.1"},
                  {"delivery_retry_initial_ms", "200"},
                  {"delivery_retry_max_ms", "400"}});
    HttpReply created =
        t.api_a.post_json("/api/v1/rules", R"({"name": "alarm",
        "topic_filter": "alarm/#", "actions": [{"type": "webhook", "url": ")" +
                                               receivers.url("/ok/alarm") + R"("}]})");
    INFO(created.body);
    REQUIRE(created.status == 201);
    for (HttpClient* http : {&t.api_a, &t.api_b}) {
        REQUIRE(wait_until(
            [&] { return metric(*http, "culex_rules_loaded") == "culex_rules_loaded 1"; },
            seconds(10)));
    }
    MqttClient device_a(t.a.port(), "device-a");
    MqttClient device_b(t.b.port(), "device-b");
    constexpr int kEach = 20;
    for (int i = 0; i < kEach; ++i) {
        device_a.publish("alarm/a", "a-" + std::to_string(i), 1);
        device_b.publish("alarm/b", "b-" + std::to_string(i), 1);
        device_b.publish("calm/b", "no rule", 1);
    }
    REQUIRE(device_a.wait_acked());
    REQUIRE(device_b.wait_acked());

    auto db = cluster().connect(t.db);
    // Every delivery finished: nothing more will be sent.
    REQUIRE(wait_until(
        [&] {
            return query_value(*db,
                               "SELECT count(*) FILTER (WHERE state = 'delivered') || '/' ||"
                               " count(*) FROM culex.deliveries") ==
                   std::to_string(2 * kEach) + "/" + std::to_string(2 * kEach);
        },
        seconds(30)));
    t.wait_written();
    CHECK(stored_twice(*db, "alarm/%") == "");
    CHECK(query_value(*db, "SELECT count(*) FROM culex.deliveries") == std::to_string(2 * kEach));

    std::map<std::string, int> sent;
    for (const auto& request : receivers.requests("/ok/alarm")) {
        rapidjson::Document body;
        const std::string text = *base64_decode(request["body"].GetString());
        body.Parse(text.c_str());
        REQUIRE(body.IsObject());
        ++sent[body["message"]["payload"].GetString()];
    }
    CHECK(sent.size() == 2 * kEach);
    for (const auto& [payload, times] : sent) {
        INFO(payload);
        CHECK(times == 1);
    }
}

TEST_CASE("a broker killed and restarted loses nothing published to the other", "[many_brokers]") {
    TwoBrokers t;
    auto db = cluster().connect(t.db);
    Subscriber on_b(t.b.port(), "crash/#");
    {
        Publisher device_b(t.b.port(), "crash", "device-b", 200);
        {
            // Gone before A is killed, or its reconnects would contend for the client id
            // with the device that connects after the restart.
            MqttClient device_a(t.a.port(), "device-a");
            for (int i = 0; i < 50; ++i)
                device_a.publish("crash/a", "before-" + std::to_string(i), 1);
            REQUIRE(device_a.wait_acked());
        }
        REQUIRE(wait_until([&] { return device_b.sent() >= 100; }, seconds(10)));
        t.a.kill();
        const long at_kill = device_b.sent();
        REQUIRE(wait_until([&] { return device_b.sent() >= at_kill + 200; }, seconds(10)));
        t.a.restart();
        REQUIRE(t.a.wait_ready());
        TwoBrokers::wait_api(t.api_a);
        t.wait_bridged();
        const long at_restart = device_b.sent();
        REQUIRE(wait_until([&] { return device_b.sent() >= at_restart + 100; }, seconds(10)));
        device_b.stop();
        REQUIRE(device_b.client().wait_acked());
        const long published = device_b.sent();

        // After the restart A stores its own devices' messages again, and B's arrive
        // there over the bridge without being stored a second time.
        Subscriber on_a(t.a.port(), "crash/#");
        MqttClient device_a2(t.a.port(), "device-a");
        for (int i = 0; i < 50; ++i)
            device_a2.publish("crash/a", "after-" + std::to_string(i), 1);
        REQUIRE(device_a2.wait_acked());
        REQUIRE(wait_until(
            [&] {
                long after = 0;
                for (const Received& r : on_b.received())
                    after += r.payload.rfind("after-", 0) == 0 ? 1 : 0;
                return after == 50;
            },
            seconds(30)));
        t.wait_written();

        CHECK(stored_twice(*db, "crash/%") == "");
        CHECK(count_of(*db,
                       "SELECT count(*) FROM culex.messages WHERE client_id = 'device-b'"
                       " AND broker = 'broker-b'",
                       {}) == published);
        CHECK(count_of(*db,
                       "SELECT count(*) FROM culex.messages WHERE client_id = 'device-b'"
                       " AND broker <> 'broker-b'",
                       {}) == 0);
        CHECK(count_of(*db,
                       "SELECT count(*) FROM culex.messages WHERE payload_text LIKE 'after-%'"
                       " AND broker = 'broker-a'",
                       {}) == 50);
    }
}

namespace {

// Timestamps seen by `sub`, by the interval (of 1 s) their time falls in.
std::map<long long, int> per_interval(Subscriber& sub) {
    std::map<long long, int> out;
    for (const Received& r : sub.received())
        ++out[std::stoll(r.payload) / 1000];
    return out;
}

// The last `n` complete intervals before the newest one seen, each with one timestamp
// or (when `each` is 2) two; the newest may still be waiting for its second.
bool last_intervals_have(Subscriber& sub, size_t n, int each) {
    std::map<long long, int> seen = per_interval(sub);
    if (seen.size() < n + 1)
        return false;
    auto it = std::prev(seen.end());
    for (size_t i = 0; i < n; ++i) {
        const long long second = it->first;
        --it;
        if (it->first != second - 1 || it->second != each)
            return false;
    }
    return true;
}

}  // namespace

TEST_CASE(
    "the periodic timestamp comes once per interval from two brokers, from each while "
    "PostgreSQL is down",
    "[many_brokers]") {
    TwoBrokers t({{"timestamp_interval", "1"}, {"timestamp_topic", "clock/tick"}});
    // A subscriber on A gets A's timestamps and, over the bridge, B's.
    Subscriber sub(t.a.port(), "clock/tick");
    // The first intervals may have been claimed before the schema existed (then both
    // brokers publish); once three in a row have one timestamp each, all do.
    REQUIRE(wait_until([&] { return last_intervals_have(sub, 3, 1); }, seconds(30)));
    // From then on, over five intervals counted once the next has begun: one each.
    const long long from = std::prev(per_interval(sub).end())->first;
    REQUIRE(wait_until([&] { return per_interval(sub).count(from + 6) == 1; }, seconds(20)));
    const std::map<long long, int> seen = per_interval(sub);
    for (long long second = from; second < from + 5; ++second) {
        INFO("interval starting at " << second << " s");
        const auto at = seen.find(second);
        CHECK((at == seen.end() ? 0 : at->second) == 1);
    }
    {
        auto db = cluster().connect(t.db);
        CHECK(query_value(*db,
                          "SELECT count(*) - count(DISTINCT payload) FROM culex.messages"
                          " WHERE topic = 'clock/tick'") == "0");
        CHECK(query_value(*db, "SELECT count(*) FROM culex.timestamp_slots") == "1");
    }
    {
        PgCluster::Outage outage(cluster());
        // Neither broker can claim: both publish, and the timestamp goes on.
        REQUIRE(wait_until([&] { return last_intervals_have(sub, 3, 2); }, seconds(30)));
    }
    REQUIRE(wait_until([&] { return last_intervals_have(sub, 3, 1); }, seconds(60)));
}
