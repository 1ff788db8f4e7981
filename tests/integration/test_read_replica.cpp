// Read replicas (db_read_conninfo): brokers whose API reads go to a real streaming standby
// of the test cluster. A standby whose replay is paused shows the database as it was at
// the pause, which proves where a read was answered.
#include <catch2/catch.hpp>

#include <curl/curl.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "support/api_broker.h"
#include "support/fixture.h"
#include "support/http_client.h"
#include "support/mqtt_client.h"
#include "support/pg_standby.h"

using namespace culex::test;

namespace {

constexpr const char* kAdminToken = "test-admin-token-replica-0123456789";

// Cloned from cluster() on first use; destroyed before it (constructed after it).
PgStandby& standby() {
    static std::unique_ptr<PgStandby> instance = std::make_unique<PgStandby>(cluster());
    return *instance;
}

// Resumes replay when the scope ends, so a failing check never leaves the standby paused
// for the next test.
struct ReplayPause {
    ReplayPause() { standby().pause_replay(); }
    ~ReplayPause() { standby().resume_replay(); }
    ReplayPause(const ReplayPause&) = delete;
    ReplayPause& operator=(const ReplayPause&) = delete;
};

PluginOpts read_on_standby(const std::string& db, const std::string& max_lag_ms,
                           PluginOpts extra = {}) {
    extra.emplace_back("db_read_conninfo", standby().conninfo(db));
    extra.emplace_back("read_max_lag_ms", max_lag_ms);
    return extra;
}

// A sample's value in /metrics, or -1 when it is not there.
double metric(HttpClient& http, const std::string& sample) {
    const std::string text = http.get("/metrics").body;
    const size_t at = text.find("\n" + sample + " ");
    return at == std::string::npos ? -1.0 : std::stod(text.substr(at + sample.size() + 2));
}

bool wait_metric(HttpClient& http, const std::string& sample, double value) {
    return wait_until([&] { return metric(http, sample) == value; }, std::chrono::seconds(30));
}

// The records of `topic` the API answers with.
size_t records(HttpClient& http, const std::string& topic) {
    HttpReply reply = http.get("/api/v1/messages?topic=" + url_encode(topic));
    INFO(reply.body);
    REQUIRE(reply.status == 200);
    return json(reply)["items"].Size();
}

int64_t insert(HttpClient& http, const std::string& topic, const std::string& payload) {
    HttpReply reply = http.post_json(
        "/api/v1/messages", R"({"topic": ")" + topic + R"(", "payload": ")" + payload + R"("})");
    INFO(reply.body);
    REQUIRE(reply.status == 201);
    return json(reply)["id"].GetInt64();
}

size_t occurrences(const std::string& text, const std::string& part) {
    size_t n = 0;
    for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1))
        ++n;
    return n;
}

// The broker writes the plugin's log lines on its next tick, after /metrics has changed.
bool wait_logged(BrokerProcess& broker, const std::string& line, size_t times) {
    return wait_until([&] { return occurrences(broker.log(), line) >= times; },
                      std::chrono::seconds(10));
}

// The live stream's text from `url` until it holds `events` message events or `timeout`.
std::string read_stream(const std::string& url, size_t events, std::chrono::seconds timeout) {
    struct Read {
        std::string text;
        size_t events;
        std::chrono::steady_clock::time_point deadline;
    } read{"", events, std::chrono::steady_clock::now() + timeout};
    CURL* curl = curl_easy_init();
    curl_slist* headers =
        curl_slist_append(nullptr, (std::string("Authorization: Bearer ") + kAdminToken).c_str());
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(
        curl, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t n, void* r) {
            static_cast<Read*>(r)->text.append(data, size * n);
            return size * n;
        });
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &read);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(
        curl, CURLOPT_XFERINFOFUNCTION,
        +[](void* r, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
            auto* so_far = static_cast<Read*>(r);
            return occurrences(so_far->text, "event: message") >= so_far->events ||
                           std::chrono::steady_clock::now() > so_far->deadline
                       ? 1
                       : 0;
        });
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &read);
    curl_easy_perform(curl);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return read.text;
}

const std::string kToPrimary =
    "reads go to the primary: the standby (plugin_opt_db_read_conninfo) ";
const std::string kToStandby = "reads go to the standby (plugin_opt_db_read_conninfo).";

}  // namespace

TEST_CASE("reads are served by the standby, and by the primary while it lags too far",
          "[replica]") {
    const std::string db = cluster().create_database();
    ApiBroker patient(kAdminToken, read_on_standby(db, "3600000"), db);
    ApiBroker strict(kAdminToken, read_on_standby(db, "200", {{"broker_id", "test-broker-strict"}}),
                     db);
    HttpClient a(patient.base, kAdminToken);
    HttpClient b(strict.base, kAdminToken);
    REQUIRE(wait_metric(a, "culex_read_replica_up", 1));
    REQUIRE(wait_metric(b, "culex_read_replica_up", 1));
    // Until the standby has replayed the new database and schema, reads went to the primary.
    REQUIRE(wait_logged(patient.broker, kToStandby, 1));
    REQUIRE(wait_logged(strict.broker, kToStandby, 1));
    const size_t a_to_primary = occurrences(patient.broker.log(), kToPrimary);
    auto primary = cluster().connect(db);

    insert(a, "replica/seen", "before the pause");
    REQUIRE(standby().wait_replayed(*primary, std::chrono::seconds(30)));
    CHECK(records(a, "replica/seen") == 1);

    ReplayPause pause;
    insert(a, "replica/hidden", "after the pause");
    CHECK(query_value(*primary,
                      "SELECT count(*) FROM culex.messages WHERE topic = 'replica/hidden'") == "1");
    const double standby_reads = metric(a, "culex_reads_total{server=\"standby\"}");
    CHECK(records(a, "replica/hidden") == 0);  // the standby answered, as it was at the pause
    CHECK(records(a, "replica/seen") == 1);
    CHECK(metric(a, "culex_reads_total{server=\"standby\"}") == standby_reads + 2);
    CHECK(metric(a, "culex_read_replica_up") == 1);
    CHECK(metric(a, "culex_read_fallbacks_total") == 0);

    // The same standby lags more than 200 ms now: the strict broker reads the primary.
    REQUIRE(wait_metric(b, "culex_read_replica_up", 0));
    CHECK(metric(b, "culex_read_fallbacks_total") >= 1);
    const double primary_reads = metric(b, "culex_reads_total{server=\"primary\"}");
    CHECK(records(b, "replica/hidden") == 1);
    CHECK(metric(b, "culex_reads_total{server=\"primary\"}") == primary_reads + 1);
    CHECK(wait_logged(strict.broker, kToPrimary + "lags ", 1));
    CHECK(occurrences(patient.broker.log(), kToPrimary) == a_to_primary);

    standby().resume_replay();
    REQUIRE(wait_metric(b, "culex_read_replica_up", 1));
    CHECK(records(b, "replica/hidden") == 1);
    CHECK(wait_logged(strict.broker, kToStandby, 2));
    CHECK(occurrences(strict.broker.log(), kToStandby) == 2);
}

TEST_CASE("a standby stopped under reads: every read answered, then reads return to it",
          "[replica]") {
    const std::string db = cluster().create_database();
    ApiBroker api(kAdminToken, read_on_standby(db, "3600000"), db);
    HttpClient http(api.base, kAdminToken);
    REQUIRE(wait_metric(http, "culex_read_replica_up", 1));
    REQUIRE(wait_logged(api.broker, kToStandby, 1));
    const size_t to_primary = occurrences(api.broker.log(), kToPrimary);
    for (int i = 0; i < 3; ++i)
        insert(http, "replica/loop", "r" + std::to_string(i));
    auto primary = cluster().connect(db);
    REQUIRE(standby().wait_replayed(*primary, std::chrono::seconds(30)));

    // An app reading in a loop on its own thread; Catch2 is not thread-safe, so it only
    // records what went wrong.
    std::atomic<bool> done{false};
    std::atomic<long> answered{0};
    std::mutex mu;
    std::vector<std::string> failures;
    std::thread reads([&] {
        HttpClient reader(api.base, kAdminToken);
        while (!done) {
            HttpReply reply = reader.get("/api/v1/messages?topic=replica%2Floop");
            if (reply.status != 200 || occurrences(reply.body, "\"topic\":\"replica/loop\"") != 3) {
                std::lock_guard<std::mutex> lock(mu);
                failures.push_back(std::to_string(reply.status) + " " + reply.body);
            }
            ++answered;
        }
    });
    struct Join {
        std::atomic<bool>& done;
        std::thread& thread;
        ~Join() {
            done = true;
            if (thread.joinable())
                thread.join();
        }
    } join{done, reads};
    auto answered_more = [&](long n) {
        const long from = answered;
        return wait_until([&] { return answered >= from + n; }, std::chrono::seconds(30));
    };

    CHECK(answered_more(20));
    standby().stop();
    CHECK(wait_metric(http, "culex_read_replica_up", 0));
    CHECK(metric(http, "culex_read_fallbacks_total") == 1);
    CHECK(answered_more(20));
    standby().start();
    CHECK(wait_metric(http, "culex_read_replica_up", 1));
    const double on_standby = metric(http, "culex_reads_total{server=\"standby\"}");
    CHECK(wait_until(
        [&] { return metric(http, "culex_reads_total{server=\"standby\"}") >= on_standby + 20; },
        std::chrono::seconds(30)));
    done = true;
    reads.join();

    INFO(failures.size() << " failed reads, the first: "
                         << (failures.empty() ? std::string() : failures.front()));
    CHECK(failures.empty());
    CHECK(answered > 60);
    CHECK(wait_logged(api.broker, kToStandby, 2));
    const std::string log = api.broker.log();
    INFO(log);
    CHECK(occurrences(log, kToPrimary) == to_primary + 1);
    CHECK(occurrences(log, kToStandby) == 2);
    CHECK(metric(http,
                 "culex_http_requests_total{method=\"GET\",route=\"/api/v1/messages\","
                 "status=\"503\"}") == -1);
}

TEST_CASE("writes, deletes and tokens work on the primary with a standby for reads", "[replica]") {
    const std::string db = cluster().create_database();
    ApiBroker api(kAdminToken, read_on_standby(db, "3600000"), db);
    HttpClient http(api.base, kAdminToken);
    REQUIRE(wait_metric(http, "culex_read_replica_up", 1));
    auto primary = cluster().connect(db);
    REQUIRE(standby().wait_replayed(*primary, std::chrono::seconds(30)));
    auto on_standby = standby().connect(db);

    ReplayPause pause;
    const int64_t id = insert(http, "replica/w", "one");
    MqttClient device(api.broker.port(), "replica-device");
    device.publish("replica/w", "two", 1);
    REQUIRE(device.wait_acked());
    CHECK(wait_stored(*primary, 2, std::chrono::seconds(30)));

    // A token made a moment ago works: tokens are looked up on the primary.
    HttpReply made = http.post_json("/api/v1/tokens", R"({"name": "replica-app",
                                                          "scopes": ["read", "write"]})");
    INFO(made.body);
    REQUIRE(made.status == 201);
    HttpClient app(api.base, json(made)["token"].GetString());
    CHECK(records(app, "replica/w") == 0);  // the standby's view, from before the pause

    HttpReply deleted = app.del("/api/v1/messages/" + std::to_string(id));
    INFO(deleted.body);
    CHECK(deleted.status == 200);
    CHECK(json(deleted)["deleted"].GetInt() == 1);
    CHECK(query_value(*primary,
                      "SELECT count(*) FROM culex.message_store WHERE id = $1 AND deleted_at IS "
                      "NOT NULL",
                      {std::to_string(id)}) == "1");
    CHECK(http.del("/api/v1/tokens/replica-app").status == 204);
    CHECK(stored_count(*on_standby) == 0);

    standby().resume_replay();
    REQUIRE(standby().wait_replayed(*primary, std::chrono::seconds(30)));
    CHECK(records(http, "replica/w") == 1);  // the MQTT one; the inserted one is deleted
    CHECK(stored_count(*on_standby) == 2);
}

TEST_CASE("the live stream's resume leaves no gap while the standby lags behind", "[replica]") {
    const std::string db = cluster().create_database();
    ApiBroker api(kAdminToken, read_on_standby(db, "3600000"), db);
    HttpClient http(api.base, kAdminToken);
    REQUIRE(wait_metric(http, "culex_read_replica_up", 1));
    auto primary = cluster().connect(db);
    MqttClient device(api.broker.port(), "resume-device");
    device.publish("resume/a", "s0", 1);
    REQUIRE(device.wait_acked());
    REQUIRE(wait_stored(*primary, 1, std::chrono::seconds(30)));
    const std::string seen =
        query_value(*primary,
                    "SELECT (extract(epoch FROM received_at) * 1000000)::bigint || '-' || seq "
                    "FROM culex.messages WHERE topic = 'resume/a'");
    const std::string url = api.base + "/api/v1/stream?filter=resume%2F%23&last_event_id=" + seen;
    {
        ReplayPause pause;
        device.publish("resume/a", "s1", 1);
        device.publish("resume/a", "s2", 1);
        REQUIRE(device.wait_acked());
        REQUIRE(wait_stored(*primary, 3, std::chrono::seconds(30)));
        // The standby has not replayed s1 and s2: the primary answers, after a bounded wait.
        const double primary_reads = metric(http, "culex_reads_total{server=\"primary\"}");
        const std::string text = read_stream(url, 2, std::chrono::seconds(30));
        INFO(text);
        CHECK(occurrences(text, "event: message") == 2);
        CHECK(text.find("\"payload\":\"s1\"") < text.find("\"payload\":\"s2\""));
        CHECK(text.find("\"payload\":\"s2\"") != std::string::npos);
        CHECK(metric(http, "culex_reads_total{server=\"primary\"}") == primary_reads + 1);
    }
    REQUIRE(standby().wait_replayed(*primary, std::chrono::seconds(30)));
    const double standby_reads = metric(http, "culex_reads_total{server=\"standby\"}");
    const std::string text = read_stream(url, 2, std::chrono::seconds(30));
    INFO(text);
    CHECK(occurrences(text, "event: message") == 2);
    CHECK(metric(http, "culex_reads_total{server=\"standby\"}") == standby_reads + 1);
}
