// The rule matcher and the delivery dispatcher in the test process (no broker), so the
// sanitizer pass covers them: real PostgreSQL, the real receivers, every kind of action,
// failures, timeouts and shutdown with sends in flight.
#include <rapidjson/document.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>

#include "common/base64.h"
#include "common/outbox.h"
#include "notify/delivery_dispatcher.h"
#include "notify/delivery_request.h"
#include "notify/rule.h"
#include "notify/rule_matcher.h"
#include "storage/delivery_store.h"
#include "storage/migrations.h"
#include "storage/rule_store.h"
#include "support/fixture.h"
#include "support/receivers.h"

using namespace culex;
using namespace culex::test;
using std::chrono::seconds;

namespace {

// Stores a rule given as the API's JSON definition.
void add_rule(PgConnection& db, const std::string& definition) {
    rapidjson::Document d;
    d.Parse(definition.c_str());
    Result<Rule> rule = parse_rule(d, nullptr);
    INFO(definition << " " << rule.status().message());
    REQUIRE(rule.is_ok());
    RuleRow created;
    REQUIRE(insert_rule(db, to_row(rule.value()), created).ok());
}

Message message(const std::string& topic, const std::string& payload, uint64_t seq) {
    Message m;
    m.topic = topic;
    m.payload = payload;
    m.client_id = "in-process";
    m.seq = seq;
    m.received_us = 1700000000000000 + static_cast<int64_t>(seq);
    return m;
}

// A fresh database with Culex's schema, and a connection to it.
struct Database {
    Database() : name(cluster().create_database()), db(cluster().conninfo(name)) {
        REQUIRE(db.connect().is_ok());
        REQUIRE(apply_migrations(db).ok());
    }
    std::string name;
    PgConnection db;
};

std::map<std::string, int64_t> states(PgConnection& db) {
    std::vector<std::pair<DeliveryState, int64_t>> counts;
    REQUIRE(count_deliveries(db, counts).ok());
    std::map<std::string, int64_t> by_name;
    for (const auto& [state, n] : counts)
        by_name[delivery_state_name(state)] = n;
    return by_name;
}

}  // namespace

TEST_CASE("matcher and dispatcher in process: every action, failures, timeouts, shutdown",
          "[notify]") {
    Receivers receivers;
    Database database;
    PgConnection& db = database.db;
    const std::string& dbname = database.name;

    Config config;
    config.db_conninfo = cluster().conninfo(dbname);
    config.broker_id = "in-process";
    config.delivery_retry_initial_ms = 50;
    config.delivery_retry_max_ms = 100;
    config.delivery_max_attempts = 2;
    config.delivery_timeout_ms = 500;
    config.smtp_url = "smtp://127.0.0.1:" + std::to_string(receivers.smtp_port());
    config.smtp_starttls = false;
    config.smtp_username = kSmtpUser;
    config.smtp_password = kSmtpPassword;
    config.smtp_from = "culex@example.com";
    config.sms_url = "http://127.0.0.1:" + std::to_string(receivers.http_port());
    config.sms_account_sid = kSmsSid;
    config.sms_auth_token = kSmsToken;
    config.sms_from = "+15550000000";
    const TargetPolicy policy = TargetPolicy::parse({"127.0.0.1"}, {}).value();

    add_rule(db, R"({"name": "all", "topic_filter": "a/#", "secret": "k", "actions": [
        {"type": "webhook", "url": ")" +
                     receivers.url("/ok/a") + R"(", "headers": {"X-A": "1"}},
        {"type": "republish", "topic": "out/{{topic}}", "payload": "{{payload}}!"},
        {"type": "email", "to": "x@example.com", "subject": "{{topic}}", "text": "{{payload}}"},
        {"type": "sms", "to": "+15551112222", "text": "{{payload.v}}"}]})");
    add_rule(db, R"({"name": "bad", "topic_filter": "b", "actions": [
        {"type": "webhook", "url": ")" +
                     receivers.url("/fail/b") + R"("},
        {"type": "webhook", "url": ")" +
                     receivers.url("/hang/b") + R"("},
        {"type": "webhook", "url": "http://localhost:1/refused"},
        {"type": "republish", "topic": "{{payload.missing}}"}]})");

    LogQueue log;
    NotifyStats stats;
    BrokerOutbox outbox(100);
    {
        DeliveryDispatcher dispatcher(config, policy, log, stats, &outbox);
        RuleMatcher matcher(config, log, stats);
        matcher.set_on_queued([&] { dispatcher.wake(); });
        dispatcher.start();
        matcher.start();

        std::vector<Message> batch = {message("a/1", R"({"v": 7})", 1), message("c", "x", 2),
                                      message("b", "y", 3),
                                      message("a/2", std::string("\0\xff", 2), 4)};
        // Before its first rule load the matcher takes every batch, so this one is matched.
        matcher.committed(batch);
        CHECK(batch.empty());
        REQUIRE(wait_until([&] { return stats.messages_matched.load() == 3; }, seconds(20)));
        const uint64_t rounds = 1;

        REQUIRE(wait_until([&] { return receivers.requests("/ok/a").size() == 2 * rounds; },
                           seconds(20)));
        REQUIRE(wait_until([&] { return receivers.mail().size() == 2 * rounds; }, seconds(20)));
        REQUIRE(wait_until([&] { return receivers.requests("/2010-04-01/").size() == 2 * rounds; },
                           seconds(20)));
        std::vector<OutgoingMessage> published;
        REQUIRE(wait_until(
            [&] {
                outbox.drain([&](OutgoingMessage& m) { published.push_back(std::move(m)); });
                return published.size() == 2 * rounds;
            },
            seconds(20)));
        // The failing, hanging, refused and unpublishable actions all end dead.
        REQUIRE(wait_until(
            [&] {
                auto s = states(db);
                return s["dead"] == static_cast<int64_t>(4 * rounds) &&
                       s["delivered"] == static_cast<int64_t>(8 * rounds);
            },
            seconds(30)));
        CHECK(receivers.requests("/fail/b").size() == 2 * rounds);

        std::sort(published.begin(), published.end(),
                  [](const auto& x, const auto& y) { return x.topic < y.topic; });
        CHECK(published[0].topic == "out/a/1");
        CHECK(published[0].payload == R"({"v": 7}!)");
        CHECK(published[1].payload == std::string("\0\xff!", 3));
        CHECK(published[0].client_id == kRepublisherClientId);
        auto requests = receivers.requests("/ok/a");
        std::set<std::string> topics;
        for (const auto& r : requests) {
            rapidjson::Document body;
            body.Parse(base64_decode(r["body"].GetString())->c_str());
            topics.insert(body["message"]["topic"].GetString());
            CHECK_FALSE(body["message"].HasMember("id"));  // never stored: no record id
        }
        CHECK(topics == std::set<std::string>{"a/1", "a/2"});
        const rapidjson::Document& first = requests.front();
        CHECK(first["headers"].HasMember("culex-signature"));

        matcher.stop(seconds(5));
        dispatcher.stop();
    }
    auto s = states(db);
    CHECK(s["sending"] == 0);
    CHECK(s["pending"] == 0);
    CHECK(stats.match_dropped.load() == 0);
}

TEST_CASE("e-mail over smtps:// (TLS from the start), verified against a CA file", "[notify]") {
    const std::string tls = make_temp_dir("culex-smtps");
    REQUIRE(run_command({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                         "-keyout", tls + "/key.pem", "-out", tls + "/cert.pem"},
                        tls + "/openssl.log", "", seconds(60)) == 0);
    Receivers receivers(tls, true);
    Database database;
    PgConnection& db = database.db;
    const std::string& dbname = database.name;
    Config config;
    config.db_conninfo = cluster().conninfo(dbname);
    config.smtp_url = "smtps://127.0.0.1:" + std::to_string(receivers.smtp_port());
    config.smtp_username = kSmtpUser;
    config.smtp_password = kSmtpPassword;
    config.smtp_from = "culex@example.com";
    config.delivery_max_attempts = 1;
    const TargetPolicy policy = TargetPolicy::parse({}, {}).value();
    LogQueue log;
    NotifyStats stats;
    std::vector<int64_t> ids;
    REQUIRE(enqueue_deliveries(db, {email_delivery({"a@example.com"}, "s", "t", 1)}, ids).ok());
    SECTION("trusted: delivered") {
        config.delivery_ca_file = tls + "/cert.pem";
        DeliveryDispatcher dispatcher(config, policy, log, stats, nullptr);
        dispatcher.start();
        REQUIRE(wait_until([&] { return receivers.mail().size() == 1; }, seconds(20)));
        CHECK(receivers.mail()[0]["tls"].GetBool());
        REQUIRE(wait_until([&] { return states(db)["delivered"] == 1; }, seconds(20)));
    }
    SECTION("an untrusted certificate is refused") {
        DeliveryDispatcher dispatcher(config, policy, log, stats, nullptr);
        dispatcher.start();
        REQUIRE(wait_until([&] { return states(db)["dead"] == 1; }, seconds(20)));
        std::optional<DeliveryRow> row;
        REQUIRE(get_delivery(db, ids[0], row).ok());
        CHECK(row->last_error->find("SSL") != std::string::npos);
        CHECK(receivers.mail().empty());
    }
    remove_tree(tls);
}

TEST_CASE("shutdown gives back the claims of sends still in flight", "[notify]") {
    Receivers receivers;
    Database database;
    PgConnection& db = database.db;
    const std::string& dbname = database.name;
    Config config;
    config.db_conninfo = cluster().conninfo(dbname);
    // Longer than the second shutdown waits for sends in flight.
    config.delivery_timeout_ms = 10000;
    const TargetPolicy policy = TargetPolicy::parse({"127.0.0.1"}, {}).value();
    NewDelivery hang;
    hang.kind = culex::DeliveryKind::kWebhook;
    hang.target = "127.0.0.1:" + std::to_string(receivers.http_port());
    hang.request_json = R"({"method": "POST", "url": ")" + receivers.url("/hang/shutdown") +
                        R"(", "headers": {}, "body": "{}"})";
    std::vector<int64_t> ids;
    REQUIRE(enqueue_deliveries(db, {hang}, ids).ok());
    LogQueue log;
    NotifyStats stats;
    {
        DeliveryDispatcher dispatcher(config, policy, log, stats, nullptr);
        dispatcher.start();
        REQUIRE(wait_until([&] { return receivers.requests("/hang/shutdown").size() == 1; },
                           seconds(20)));
        dispatcher.stop();
    }
    std::optional<DeliveryRow> row;
    REQUIRE(get_delivery(db, ids[0], row).ok());
    CHECK(row->state == culex::DeliveryState::kPending);
    CHECK(row->attempts == 0);  // given back: the interrupted attempt does not count
    // Due at once: the next dispatcher takes it without waiting for a lease to run out.
    {
        DeliveryDispatcher again(config, policy, log, stats, nullptr);
        again.start();
        CHECK(wait_until([&] { return receivers.requests("/hang/shutdown").size() == 2; },
                         seconds(5)));
        again.stop();
    }
}
