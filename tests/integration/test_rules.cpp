// Rules and deliveries against real receivers on loopback: an HTTP receiver that can
// fail or hang, an SMTP server (aiosmtpd, STARTTLS and AUTH) and a fake Twilio, all in
// tests/integration/receivers/receivers.py.
#include <openssl/hmac.h>
#include <rapidjson/document.h>
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <map>
#include <memory>
#include <set>

#include "common/base64.h"
#include "storage/pg_connection.h"
#include "support/api_broker.h"
#include "support/fixture.h"
#include "support/http_client.h"
#include "support/mqtt_subscriber.h"
#include "support/receivers.h"

using namespace culex;
using namespace culex::test;
using std::chrono::seconds;

namespace {

constexpr const char* kToken = "rules-admin-token-0123456789";

std::string body_of(const rapidjson::Value& request) {
    return *base64_decode(request["body"].GetString());
}

std::string hmac_hex(const std::string& key, const std::string& text) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(text.data()), text.size(), mac, &len);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out += kHex[mac[i] >> 4];
        out += kHex[mac[i] & 15];
    }
    return out;
}

// Options for a broker that may deliver to the receivers.
PluginOpts delivery_opts(const Receivers& r, const PluginOpts& extra = {}) {
    PluginOpts opts = {{"delivery_allow", "127.0.0.1"},
                       {"delivery_retry_initial_ms", "200"},
                       {"delivery_retry_max_ms", "400"},
                       {"delivery_max_attempts", "3"},
                       {"delivery_timeout_ms", "1500"},
                       {"smtp_url", "smtp://127.0.0.1:" + std::to_string(r.smtp_port())},
                       {"smtp_starttls", r.tls() ? "true" : "false"},
                       {"smtp_username", kSmtpUser},
                       {"smtp_password", kSmtpPassword},
                       {"smtp_from", "culex@example.com"},
                       {"sms_url", "http://127.0.0.1:" + std::to_string(r.http_port())},
                       {"sms_account_sid", kSmsSid},
                       {"sms_auth_token", kSmsToken},
                       {"sms_from", "+15550001111"}};
    // A test's own value replaces the default.
    std::erase_if(opts, [&](const auto& option) {
        return std::any_of(extra.begin(), extra.end(),
                           [&](const auto& e) { return e.first == option.first; });
    });
    opts.insert(opts.end(), extra.begin(), extra.end());
    return opts;
}

int64_t create_rule(HttpClient& http, const std::string& definition) {
    HttpReply reply = http.post_json("/api/v1/rules", definition);
    INFO(reply.body);
    REQUIRE(reply.status == 201);
    return json(reply)["id"].GetInt64();
}

// Rules reach the matcher within a second of a change; waits until it runs `n` of them.
void wait_rules_loaded(HttpClient& http, int n) {
    const std::string line = "culex_rules_loaded " + std::to_string(n) + "\n";
    REQUIRE(wait_until([&] { return http.get("/metrics").body.find(line) != std::string::npos; },
                       seconds(10)));
}

rapidjson::Document delivery(HttpClient& http, int64_t id) {
    HttpReply reply = http.get("/api/v1/deliveries/" + std::to_string(id));
    REQUIRE(reply.status == 200);
    return json(reply);
}

// Deliveries of a rule, newest first.
std::vector<rapidjson::Document> deliveries_of(HttpClient& http, int64_t rule_id) {
    rapidjson::Document page =
        json(http.get("/api/v1/deliveries?rule_id=" + std::to_string(rule_id)));
    std::vector<rapidjson::Document> out;
    for (const auto& d : page["items"].GetArray()) {
        rapidjson::Document copy;
        copy.CopyFrom(d, copy.GetAllocator());
        out.push_back(std::move(copy));
    }
    return out;
}

bool wait_state(HttpClient& http, int64_t delivery_id, const std::string& state,
                std::chrono::milliseconds timeout = seconds(20)) {
    return wait_until([&] { return delivery(http, delivery_id)["state"].GetString() == state; },
                      timeout);
}

// The id of the record stored for `topic` (the newest).
int64_t stored_id(HttpClient& http, const std::string& topic) {
    HttpReply reply = http.get("/api/v1/messages/latest?topic=" + url_encode(topic));
    REQUIRE(reply.status == 200);
    return json(reply)["id"].GetInt64();
}

}  // namespace

TEST_CASE("a webhook fires for matching messages only, signed, with the stored record", "[rules]") {
    Receivers receivers;
    ApiBroker api(kToken, delivery_opts(receivers));
    HttpClient http(api.base, kToken);
    const int64_t hot = create_rule(http, R"({"name": "hot", "topic_filter": "sensors/+/temp",
        "where": ["temp>30", "unit=C"], "secret": "s3cret",
        "actions": [{"type": "webhook", "url": ")" +
                                              receivers.url("/ok/hot") + R"(",
                     "headers": {"X-Team": "ops"}}]})");
    const int64_t door = create_rule(http, R"({"name": "door", "topic_filter": "doors/#",
        "like": "%open%", "actions": [{"type": "webhook", "method": "PUT",
        "url": ")" + receivers.url("/ok/door") +
                                               R"("}]})");

    wait_rules_loaded(http, 2);
    MqttClient device(api.broker.port(), "dev-1");
    device.publish("sensors/kitchen/temp", R"({"temp": 31.5, "unit": "C"})", 1);  // fires
    device.publish("sensors/kitchen/temp", R"({"temp": 30, "unit": "C"})", 1);    // not > 30
    device.publish("sensors/kitchen/temp", R"({"temp": 35, "unit": "F"})", 1);    // unit
    device.publish("sensors/kitchen/temp", "35", 1);                              // no field
    device.publish("sensors/kitchen/hum", R"({"temp": 99, "unit": "C"})", 1);     // topic
    device.publish("sensors/a/b/temp", R"({"temp": 99, "unit": "C"})", 1);        // + is one level
    device.publish("doors/front", "door is open now", 1);                         // fires
    device.publish("doors/back/left", "closed", 1);                               // no match
    device.publish("sensors/hall/temp", R"({"temp": 40, "unit": "C"})", 1);       // fires
    REQUIRE(device.wait_acked());

    REQUIRE(wait_until(
        [&] {
            return receivers.requests("/ok/hot").size() == 2 &&
                   receivers.requests("/ok/door").size() == 1;
        },
        seconds(20)));
    // Everything before the last message was matched, so no late stragglers: the matcher
    // handles batches in order and the last one has been delivered.
    REQUIRE(wait_until([&] { return deliveries_of(http, hot).size() == 2; }, seconds(10)));

    auto hot_requests = receivers.requests("/ok/hot");
    std::set<std::string> rooms;
    for (const auto& r : hot_requests) {
        CHECK(std::string(r["method"].GetString()) == "POST");
        const auto& h = r["headers"];
        CHECK(std::string(h["content-type"].GetString()) == "application/json");
        CHECK(std::string(h["x-team"].GetString()) == "ops");
        CHECK(std::string(h["culex-rule"].GetString()) == "hot");
        const std::string body = body_of(r);
        const std::string timestamp = h["culex-timestamp"].GetString();
        CHECK(std::string(h["culex-signature"].GetString()) ==
              "sha256=" + hmac_hex("s3cret", timestamp + "." + body));
        CHECK(std::string(h["culex-signature"].GetString()) !=
              "sha256=" + hmac_hex("wrong", timestamp + "." + body));
        rapidjson::Document doc;
        doc.Parse(body.c_str());
        REQUIRE(doc.IsObject());
        CHECK(doc["rule"]["id"].GetInt64() == hot);
        CHECK(std::string(doc["rule"]["name"].GetString()) == "hot");
        const auto& m = doc["message"];
        const std::string topic = m["topic"].GetString();
        rooms.insert(topic);
        CHECK(m["qos"].GetInt() == 1);
        CHECK(std::string(m["client_id"].GetString()) == "dev-1");
        // The record id is the stored row's.
        rapidjson::Document record =
            json(http.get("/api/v1/messages/" + std::to_string(m["id"].GetInt64())));
        CHECK(std::string(record["topic"].GetString()) == topic);
        CHECK(std::string(record["payload"].GetString()) == m["payload"].GetString());
        CHECK(std::string(record["received_at"].GetString()) == m["received_at"].GetString());
        CHECK(std::string(m["received_at"].GetString()).size() > 20);
        // The delivery id header names the delivery the API shows.
        rapidjson::Document d = delivery(http, std::stoll(h["culex-delivery"].GetString()));
        CHECK(std::string(d["state"].GetString()) == "delivered");
        CHECK(d["message_id"].GetInt64() == m["id"].GetInt64());
    }
    CHECK(rooms == std::set<std::string>{"sensors/kitchen/temp", "sensors/hall/temp"});
    {
        auto kitchen = receivers.requests("/ok/hot");
        bool found_payload = false;
        for (const auto& r : kitchen) {
            rapidjson::Document doc;
            doc.Parse(body_of(r).c_str());
            if (std::string(doc["message"]["topic"].GetString()) == "sensors/kitchen/temp")
                found_payload = std::string(doc["message"]["payload"].GetString()) ==
                                R"({"temp": 31.5, "unit": "C"})";
        }
        CHECK(found_payload);
    }
    auto door_requests = receivers.requests("/ok/door");
    CHECK(std::string(door_requests[0]["method"].GetString()) == "PUT");
    CHECK(!door_requests[0]["headers"].HasMember("culex-signature"));
    CHECK(deliveries_of(http, door).size() == 1);

    // Binary payloads reach webhooks as base64.
    device.publish("doors/bin", std::string("open\0\xff\xfe", 7), 1);
    REQUIRE(device.wait_acked());
    REQUIRE(wait_until([&] { return receivers.requests("/ok/door").size() == 2; }, seconds(20)));
    rapidjson::Document bin;
    bin.Parse(body_of(receivers.requests("/ok/door")[1]).c_str());
    CHECK(std::string(bin["message"]["encoding"].GetString()) == "base64");
    CHECK(*base64_decode(bin["message"]["payload"].GetString()) ==
          std::string("open\0\xff\xfe", 7));

    // The metric of deliveries by state.
    REQUIRE(wait_until(
        [&] {
            return http.get("/metrics").body.find("culex_deliveries{state=\"delivered\"} 4") !=
                   std::string::npos;
        },
        seconds(20)));
    const std::string metrics = http.get("/metrics").body;
    CHECK(metrics.find("culex_rules_loaded 2") != std::string::npos);
    CHECK(metrics.find("culex_deliveries_delivered_total 4") != std::string::npos);
}

TEST_CASE("republish, e-mail over STARTTLS with AUTH, and SMS, from rules and from the API",
          "[rules]") {
    const std::string tls = make_temp_dir("culex-smtp-tls");
    REQUIRE(run_command({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                         "-keyout", tls + "/key.pem", "-out", tls + "/cert.pem"},
                        tls + "/openssl.log", "", seconds(60)) == 0);
    // The broker runs as user mosquitto and reads the CA file.
    REQUIRE(chmod(tls.c_str(), 0755) == 0);
    Receivers receivers(tls);
    ApiBroker api(kToken, delivery_opts(receivers, {{"delivery_ca_file", tls + "/cert.pem"}}));
    HttpClient http(api.base, kToken);
    Subscriber alerts(api.broker.port(), "alerts/#");

    const int64_t alarm = create_rule(http, R"J({"name": "alarm", "topic_filter": "plant/+/alarm",
        "contains": "\"level\"", "actions": [
          {"type": "republish", "topic": "alerts/{{payload.room}}", "qos": 1,
           "payload": "{{rule}}: {{payload.level}} at {{topic}} (record {{id}})"},
          {"type": "email", "to": ["ops@example.com", "lead@example.com"],
           "subject": "Alarm ünter {{topic}}", "text": "Level {{payload.level}}\nfrom {{client_id}}"},
          {"type": "sms", "to": ["+15551230001", "+15551230002"], "text": "alarm {{payload.level}}"}]})J");
    // A rule on the republished topics: republished messages must not fire rules (no loops).
    const int64_t echo = create_rule(http, R"({"name": "echo", "topic_filter": "alerts/#",
        "actions": [{"type": "republish", "topic": "alerts/again"}]})");
    const int64_t sentinel = create_rule(http, R"({"name": "sentinel", "topic_filter": "sentinel",
        "actions": [{"type": "webhook", "url": ")" +
                                                   receivers.url("/ok/sentinel") + R"("}]})");

    wait_rules_loaded(http, 3);
    MqttClient device(api.broker.port(), "plc-7");
    device.publish("plant/boiler/alarm", R"({"level": "high", "room": "boiler-room"})", 1);
    REQUIRE(device.wait_acked());

    // Republished, with the template filled, and stored with the republisher's client id.
    REQUIRE(wait_until([&] { return alerts.count() >= 1; }, seconds(20)));
    const Received got = alerts.received().front();
    CHECK(got.topic == "alerts/boiler-room");
    const int64_t record = stored_id(http, "plant/boiler/alarm");
    CHECK(got.payload ==
          "alarm: high at plant/boiler/alarm (record " + std::to_string(record) + ")");
    REQUIRE(wait_until(
        [&] {
            return http.get("/api/v1/messages/latest?topic=alerts%2Fboiler-room").status == 200;
        },
        seconds(20)));
    CHECK(std::string(
              json(http.get("/api/v1/messages/latest?topic=alerts%2Fboiler-room"))["client_id"]
                  .GetString()) == "$culex-rule");

    // E-mail: one message to both recipients, over STARTTLS, authenticated.
    REQUIRE(wait_until([&] { return receivers.mail().size() == 1; }, seconds(20)));
    {
        const auto mail = receivers.mail();
        CHECK(std::string(mail[0]["mail_from"].GetString()) == "culex@example.com");
        CHECK(mail[0]["rcpt_tos"].Size() == 2);
        CHECK(mail[0]["tls"].GetBool());
        CHECK(mail[0]["auth"].GetBool());
        const std::string data = *base64_decode(mail[0]["data"].GetString());
        CHECK(data.find("To: ops@example.com, lead@example.com\r\n") != std::string::npos);
        CHECK(data.find("Subject: =?UTF-8?B?" + base64_encode("Alarm ünter plant/boiler/alarm") +
                        "?=") != std::string::npos);
        const size_t body_at = data.find("\r\n\r\n");
        REQUIRE(body_at != std::string::npos);
        std::string body_b64;
        for (char c : data.substr(body_at + 4)) {
            if (c != '\r' && c != '\n')
                body_b64 += c;
        }
        CHECK(*base64_decode(body_b64) == "Level high\nfrom plc-7");
    }
    // SMS: one request per recipient, in the Twilio form, with basic auth.
    REQUIRE(
        wait_until([&] { return receivers.requests("/2010-04-01/").size() == 2; }, seconds(20)));
    std::set<std::string> sms_bodies;
    for (const auto& r : receivers.requests("/2010-04-01/")) {
        CHECK(std::string(r["path"].GetString()) == "/2010-04-01/Accounts/AC123/Messages.json");
        CHECK(std::string(r["headers"]["content-type"].GetString()) ==
              "application/x-www-form-urlencoded");
        sms_bodies.insert(body_of(r));
    }
    CHECK(sms_bodies ==
          std::set<std::string>{"To=%2B15551230001&From=%2B15550001111&Body=alarm%20high",
                                "To=%2B15551230002&From=%2B15550001111&Body=alarm%20high"});

    // Every delivery of the rule is delivered; the echo rule never fired. The sentinel,
    // published after, shows the matcher has seen everything before it.
    device.publish("sentinel", "x", 1);
    REQUIRE(device.wait_acked());
    REQUIRE(
        wait_until([&] { return receivers.requests("/ok/sentinel").size() == 1; }, seconds(20)));
    CHECK(deliveries_of(http, echo).empty());
    (void)sentinel;
    REQUIRE(wait_until(
        [&] {
            auto all = deliveries_of(http, alarm);
            return all.size() == 4 && std::all_of(all.begin(), all.end(), [](const auto& d) {
                       return std::string(d["state"].GetString()) == "delivered";
                   });
        },
        seconds(20)));

    // The API's own e-mail and SMS: a delivery id whose status can be read.
    HttpReply sent = http.post_json(
        "/api/v1/email",
        R"({"to": "someone@example.com", "subject": "hello", "text": "from the API"})");
    REQUIRE(sent.status == 202);
    const int64_t mail_id = json(sent)["id"].GetInt64();
    CHECK(wait_state(http, mail_id, "delivered"));
    CHECK(receivers.mail().size() == 2);
    sent = http.post_json("/api/v1/sms", R"({"to": "+15559876543", "text": "hi there"})");
    REQUIRE(sent.status == 202);
    CHECK(sent.has_header("Location: /api/v1/deliveries/"));
    const int64_t sms_id = json(sent)["id"].GetInt64();
    CHECK(wait_state(http, sms_id, "delivered"));
    CHECK(delivery(http, sms_id)["last_status"].GetInt() == 201);

    // Bad input to both.
    for (const auto& [path, body] : std::vector<std::pair<std::string, std::string>>{
             {"/api/v1/email", R"({"to": "not-an-address", "subject": "s", "text": "t"})"},
             {"/api/v1/email", R"({"to": "a@b.c", "subject": "two\nlines", "text": "t"})"},
             {"/api/v1/email", R"({"to": "a@b.c\r\nBcc: x@y.z", "subject": "s", "text": "t"})"},
             {"/api/v1/email", R"({"to": [], "subject": "s", "text": "t"})"},
             {"/api/v1/email", R"({"to": "a@b.c", "subject": "s"})"},
             {"/api/v1/email", R"({"to": "a@b.c", "subject": "s", "text": "t", "cc": "x"})"},
             {"/api/v1/email", R"({"to": "a@b.c", "to": "x@y.z", "subject": "s", "text": "t"})"},
             {"/api/v1/sms", R"({"to": "", "text": "t"})"},
             {"/api/v1/sms", R"({"to": "+1 555", "text": "t"})"},
             {"/api/v1/sms", R"({"to": "+1555", "text": 5})"},
             {"/api/v1/sms", "not json"}}) {
        HttpReply reply = http.post_json(path, body);
        INFO(path << " " << body << " -> " << reply.body);
        CHECK(reply.status == 400);
        CHECK(reply.content_type == "application/problem+json");
    }
    remove_tree(tls);
}

TEST_CASE(
    "retries then success, retries then dead letter, and a hanging receiver delays nothing else",
    "[rules]") {
    Receivers receivers;
    Receivers other;
    ApiBroker api(kToken, delivery_opts(receivers, {{"delivery_per_target", "2"}}));
    HttpClient http(api.base, kToken);
    const int64_t flaky = create_rule(http, R"({"name": "flaky", "topic_filter": "t/flaky",
        "actions": [{"type": "webhook", "url": ")" +
                                                receivers.url("/flaky/2/x") + R"("}]})");
    const int64_t failing = create_rule(http, R"({"name": "failing", "topic_filter": "t/fail",
        "actions": [{"type": "webhook", "url": ")" +
                                                  receivers.url("/fail/x") + R"("}]})");
    const int64_t hanging = create_rule(http, R"({"name": "hanging", "topic_filter": "t/hang",
        "actions": [{"type": "webhook", "url": ")" +
                                                  receivers.url("/hang/x") + R"("}]})");
    const int64_t fine = create_rule(http, R"({"name": "fine", "topic_filter": "t/fine",
        "actions": [{"type": "webhook", "url": ")" +
                                               other.url("/ok/fine") + R"("}]})");

    wait_rules_loaded(http, 4);
    MqttClient device(api.broker.port(), "dev-r");
    device.publish("t/flaky", "1", 1);
    device.publish("t/fail", "1", 1);
    for (int i = 0; i < 6; ++i)
        device.publish("t/hang", std::to_string(i), 1);
    REQUIRE(device.wait_acked());

    // The hanging receiver holds its target's two slots; the other target is unaffected:
    // its ten deliveries arrive while the hanging ones are still stuck.
    REQUIRE(wait_until([&] { return receivers.requests("/hang/").size() >= 2; }, seconds(20)));
    for (int i = 0; i < 10; ++i)
        device.publish("t/fine", std::to_string(i), 1);
    REQUIRE(device.wait_acked());
    REQUIRE(wait_until([&] { return other.requests("/ok/fine").size() == 10; }, seconds(20)));
    CHECK(wait_until(
        [&] {
            auto all = deliveries_of(http, fine);
            return all.size() == 10 && std::all_of(all.begin(), all.end(), [](const auto& d) {
                       return std::string(d["state"].GetString()) == "delivered";
                   });
        },
        seconds(5)));

    // Two failures, then success on the third attempt.
    REQUIRE(wait_until(
        [&] {
            auto d = deliveries_of(http, flaky);
            return d.size() == 1 && std::string(d[0]["state"].GetString()) == "delivered";
        },
        seconds(20)));
    CHECK(deliveries_of(http, flaky)[0]["attempts"].GetInt() == 3);
    CHECK(receivers.requests("/flaky/2/x").size() == 3);

    // Three failures (delivery_max_attempts 3): dead, with the last error.
    REQUIRE(wait_until(
        [&] {
            auto d = deliveries_of(http, failing);
            return d.size() == 1 && std::string(d[0]["state"].GetString()) == "dead";
        },
        seconds(20)));
    rapidjson::Document dead = std::move(deliveries_of(http, failing)[0]);
    CHECK(dead["attempts"].GetInt() == 3);
    CHECK(dead["last_status"].GetInt() == 500);
    CHECK(std::string(dead["last_error"].GetString()) == "HTTP 500: receiver failing on purpose");
    CHECK(receivers.requests("/fail/x").size() == 3);
    // Retries were spaced out (backoff 200-400 ms with jitter of at least half).
    auto fail_requests = receivers.requests("/fail/x");
    CHECK(fail_requests[1]["at"].GetDouble() - fail_requests[0]["at"].GetDouble() >= 0.09);
    // The dead letter is listed and can be retried by hand.
    rapidjson::Document dead_list = json(http.get("/api/v1/deliveries?state=dead&kind=webhook"));
    bool listed = false;
    for (const auto& d : dead_list["items"].GetArray())
        listed = listed || d["id"].GetInt64() == dead["id"].GetInt64();
    CHECK(listed);
    HttpReply retried = http.post_json(
        "/api/v1/deliveries/" + std::to_string(dead["id"].GetInt64()) + "/retry", "");
    REQUIRE(retried.status == 200);
    CHECK(json(retried)["attempts"].GetInt() == 0);
    REQUIRE(wait_until([&] { return receivers.requests("/fail/x").size() == 6; }, seconds(20)));
    CHECK(wait_state(http, dead["id"].GetInt64(), "dead"));
    CHECK(http.post_json("/api/v1/deliveries/" +
                             std::to_string(deliveries_of(http, fine)[0]["id"].GetInt64()) +
                             "/retry",
                         "")
              .status == 409);

    // Hanging attempts time out (1.5 s) and are retried, then die.
    REQUIRE(wait_until(
        [&] {
            auto all = deliveries_of(http, hanging);
            return all.size() == 6 && std::all_of(all.begin(), all.end(), [](const auto& d) {
                       return std::string(d["state"].GetString()) == "dead";
                   });
        },
        seconds(60)));
    CHECK(std::string(deliveries_of(http, hanging)[0]["last_error"].GetString()).find("Timeout") !=
          std::string::npos);
    // Never more at once than delivery_per_target, however long they hang.
    CHECK(receivers.most_hanging_at_once() == 2);
}

TEST_CASE("a queued delivery survives a broker restart", "[rules]") {
    // The receiver is down while the first broker runs, so the delivery can only be
    // pending when that broker stops; it comes up before the second broker starts.
    const int receiver_port = free_port();
    const std::string url = "http://127.0.0.1:" + std::to_string(receiver_port) + "/ok/restart";
    const std::string db = cluster().create_database();
    const int http_port = free_port();
    const std::string base = "http://127.0.0.1:" + std::to_string(http_port);
    const PluginOpts opts =
        plugin_opts_for(db, {{"http_listen", "127.0.0.1:" + std::to_string(http_port)},
                             {"admin_token", kToken},
                             {"delivery_allow", "127.0.0.1"},
                             {"delivery_retry_initial_ms", "200"},
                             {"delivery_retry_max_ms", "400"},
                             {"delivery_max_attempts", "100"}});
    int64_t delivery_id = 0;
    {
        BrokerProcess broker(opts);
        REQUIRE(broker.wait_ready());
        HttpClient http(base, kToken);
        REQUIRE(wait_until([&] { return http.get("/readyz").status == 200; }, seconds(30)));
        const int64_t rule = create_rule(http, R"({"name": "restart", "topic_filter": "r/#",
            "actions": [{"type": "webhook", "url": ")" +
                                                   url + R"("}]})");
        wait_rules_loaded(http, 1);
        MqttClient device(broker.port(), "dev-restart");
        device.publish("r/1", "before restart", 1);
        REQUIRE(device.wait_acked());
        REQUIRE(wait_until(
            [&] {
                auto d = deliveries_of(http, rule);
                return d.size() == 1 && d[0]["attempts"].GetInt() >= 1;
            },
            seconds(20)));
        delivery_id = deliveries_of(http, rule)[0]["id"].GetInt64();
        REQUIRE(broker.terminate(seconds(30)) == 0);
    }
    Receivers receivers("", false, receiver_port);
    BrokerProcess again(opts);
    REQUIRE(again.wait_ready());
    HttpClient http(base, kToken);
    REQUIRE(wait_until([&] { return http.get("/readyz").status == 200; }, seconds(30)));
    CHECK(wait_state(http, delivery_id, "delivered"));
    CHECK(delivery(http, delivery_id)["attempts"].GetInt() >= 2);
    auto got = receivers.requests("/ok/restart");
    REQUIRE(got.size() == 1);
    CHECK(std::string(got[0]["headers"]["culex-delivery"].GetString()) ==
          std::to_string(delivery_id));
}

TEST_CASE("outgoing requests go only where the admin allows", "[rules]") {
    Receivers receivers;
    // No delivery_allow: only public addresses, and hooks.example.org is denied by name.
    ApiBroker api(kToken, {{"delivery_deny", "*.example.org"},
                           {"delivery_retry_initial_ms", "100"},
                           {"delivery_retry_max_ms", "100"}});
    HttpClient http(api.base, kToken);
    for (const std::string& url :
         {receivers.url("/ok/x"), std::string("http://10.1.2.3/x"),
          std::string("http://[::1]:80/x"), std::string("http://169.254.169.254/latest/meta-data"),
          std::string("http://hooks.example.org/x"),
          std::string("http://a.b.hooks.example.org/x")}) {
        HttpReply reply =
            http.post_json("/api/v1/rules", R"({"name": "blocked", "topic_filter": "b/#",
            "actions": [{"type": "webhook", "url": ")" +
                                                url + R"("}]})");
        INFO(url << " -> " << reply.body);
        CHECK(reply.status == 400);
        CHECK(reply.body.find("does not allow") != std::string::npos);
    }
    // A name that resolves to a refused address is caught when connecting.
    const int64_t sneaky =
        create_rule(http, R"({"name": "sneaky", "topic_filter": "b/#",
        "actions": [{"type": "webhook", "url": "http://localhost:)" +
                              std::to_string(receivers.http_port()) + R"(/ok/sneaky"}]})");
    wait_rules_loaded(http, 1);
    MqttClient device(api.broker.port(), "dev-b");
    device.publish("b/1", "x", 1);
    REQUIRE(device.wait_acked());
    REQUIRE(wait_until(
        [&] {
            auto d = deliveries_of(http, sneaky);
            return d.size() == 1 && std::string(d[0]["state"].GetString()) == "dead";
        },
        seconds(20)));
    auto d = deliveries_of(http, sneaky);
    CHECK(d[0]["attempts"].GetInt() == 1);  // refused at once, not retried
    CHECK(std::string(d[0]["last_error"].GetString()).find("is not allowed") != std::string::npos);
    CHECK(receivers.requests("/ok/sneaky").empty());
}

TEST_CASE("rules over HTTP: bad definitions refused, CRUD, enable and disable, access", "[rules]") {
    Receivers receivers;
    ApiBroker api(kToken, delivery_opts(receivers));
    HttpClient http(api.base, kToken);
    const std::string ok_url = receivers.url("/ok/crud");
    struct Bad {
        std::string body;
        std::string detail;
    };
    const std::vector<Bad> bad = {
        {"[]", "must be a JSON object"},
        {R"({"topic_filter": "a", "actions": [{"type": "republish", "topic": "b"}]})",
         "'name' is required"},
        {R"({"name": "", "topic_filter": "a", "actions": [{"type": "republish", "topic": "b"}]})",
         "'name'"},
        {R"({"name": "x", "actions": [{"type": "republish", "topic": "b"}]})",
         "'topic_filter' is required"},
        {R"({"name": "x", "topic_filter": "a/#/b", "actions": [{"type": "republish", "topic": "b"}]})",
         "topic_filter"},
        {R"({"name": "x", "topic_filter": "a"})", "'actions'"},
        {R"({"name": "x", "topic_filter": "a", "actions": []})", "'actions'"},
        {R"({"name": "x", "topic_filter": "a", "actions": [{"type": "fax"}]})",
         "webhook, republish, email or sms"},
        {R"({"name": "x", "topic_filter": "a", "actions": [{"type": "webhook"}]})",
         "actions[0].url' is required"},
        {R"({"name": "x", "topic_filter": "a", "actions": [{"type": "webhook", "url": "ftp://h/x"}]})",
         "http:// or https://"},
        {R"({"name": "x", "topic_filter": "a", "actions": [{"type": "webhook", "url": "not a url"}]})",
         "url"},
        {R"({"name": "x", "topic_filter": "a", "actions": [{"type": "webhook", "url": ")" + ok_url +
             R"(", "method": "TRACE"}]})",
         "method"},
        {R"({"name": "x", "topic_filter": "a", "actions": [{"type": "webhook", "url": ")" + ok_url +
             R"(", "headers": {"Host": "x"}}]})",
         "cannot set 'Host'"},
        {R"({"name": "x", "topic_filter": "a", "actions": [{"type": "webhook", "url": ")" + ok_url +
             R"(", "headers": {"X-A": "1\r\nX-B: 2"}}]})",
         "control characters"},
        {R"({"name": "x", "topic_filter": "a", "actions": [{"type": "webhook", "url": ")" + ok_url +
             R"(", "extra": 1}]})",
         "unknown field 'actions[0].extra'"},
        {R"({"name": "x", "topic_filter": "a", "actions": [{"type": "republish", "topic": "b/+"}]})",
         "wildcards"},
        {R"({"name": "x", "topic_filter": "a", "actions": [{"type": "republish", "topic": "b/{{nope}}"}]})",
         "unknown placeholder {{nope}}"},
        {R"({"name": "x", "topic_filter": "a", "actions": [{"type": "republish", "topic": "b/{{topic"}]})",
         "no matching"},
        {R"({"name": "x", "topic_filter": "a", "actions": [{"type": "republish", "topic": "b", "qos": 3}]})",
         "0, 1 or 2"},
        {R"({"name": "x", "topic_filter": "a", "actions": [{"type": "email", "to": "nobody", "subject": "s", "text": "t"}]})",
         "not an e-mail address"},
        {R"({"name": "x", "topic_filter": "a", "actions": [{"type": "email", "to": "a@b.c", "text": "t"}]})",
         "subject' is required"},
        {R"({"name": "x", "topic_filter": "a", "actions": [{"type": "sms", "to": "+1 2", "text": "t"}]})",
         "spaces"},
        {R"({"name": "x", "topic_filter": "a", "where": "temp >", "actions": [{"type": "republish", "topic": "b"}]})",
         "no value"},
        {R"({"name": "x", "topic_filter": "a", "where": ["a.b!c=1"], "actions": [{"type": "republish", "topic": "b"}]})",
         "'where'"},
        {R"({"name": "x", "topic_filter": "a", "like": "abc\\", "actions": [{"type": "republish", "topic": "b"}]})",
         "unpaired"},
        {R"({"name": "x", "topic_filter": "a", "enabled": "yes", "actions": [{"type": "republish", "topic": "b"}]})",
         "true or false"},
        {R"({"name": "x", "topic_filter": "a", "owner": "me", "actions": [{"type": "republish", "topic": "b"}]})",
         "unknown field 'owner'"},
        {R"({"name": "x", "name": "y", "topic_filter": "a", "actions": [{"type": "republish", "topic": "b"}]})",
         "field 'name' appears more than once"},
        {R"({"name": "x", "topic_filter": "a", "actions": [{"type": "republish", "topic": "b", "topic": "c"}]})",
         "field 'topic' appears more than once"},
    };
    for (const Bad& b : bad) {
        HttpReply reply = http.post_json("/api/v1/rules", b.body);
        INFO(b.body << " -> " << reply.body);
        CHECK(reply.status == 400);
        CHECK(reply.content_type == "application/problem+json");
        CHECK(reply.body.find(b.detail) != std::string::npos);
    }
    CHECK(json(http.get("/api/v1/rules"))["items"].Size() == 0);

    // Created disabled: it does not fire until enabled.
    const std::string definition = R"({"name": "crud", "enabled": false, "topic_filter": "c/+",
        "where": "v>=10", "actions": [{"type": "webhook", "url": ")" +
                                   ok_url + R"("}]})";
    const int64_t id = create_rule(http, definition);
    CHECK(http.post_json("/api/v1/rules", definition).status == 409);
    rapidjson::Document one = json(http.get("/api/v1/rules/" + std::to_string(id)));
    CHECK(std::string(one["name"].GetString()) == "crud");
    CHECK_FALSE(one["enabled"].GetBool());
    CHECK(std::string(one["where"][0].GetString()) == "v>=10");
    CHECK(std::string(one["actions"][0]["url"].GetString()) == ok_url);
    CHECK_FALSE(one["has_secret"].GetBool());
    CHECK(one["recent_deliveries"].Size() == 0);
    const int64_t sentinel = create_rule(http, R"({"name": "sentinel", "topic_filter": "sentinel",
        "actions": [{"type": "webhook", "url": ")" +
                                                   receivers.url("/ok/sentinel") + R"("}]})");

    wait_rules_loaded(http, 1);
    MqttClient device(api.broker.port(), "dev-c");
    auto publish_and_settle = [&](const std::string& topic, const std::string& payload) {
        const size_t before = receivers.requests("/ok/sentinel").size();
        device.publish(topic, payload, 1);
        device.publish("sentinel", "x", 1);
        REQUIRE(device.wait_acked());
        REQUIRE(wait_until([&] { return receivers.requests("/ok/sentinel").size() == before + 1; },
                           seconds(20)));
    };
    publish_and_settle("c/1", R"({"v": 10})");
    CHECK(receivers.requests("/ok/crud").empty());

    // Enabled: fires within a second or so (rules reload on change).
    rapidjson::Document enabled =
        json(http.post_json("/api/v1/rules/" + std::to_string(id) + "/enable", ""));
    CHECK(enabled["changed"].GetInt64() == 1);
    CHECK(json(http.post_json("/api/v1/rules/" + std::to_string(id) + "/enable", ""))["changed"]
              .GetInt64() == 0);
    wait_rules_loaded(http, 2);
    publish_and_settle("c/2", R"({"v": 11})");
    publish_and_settle("c/3", R"({"v": 9})");
    REQUIRE(wait_until([&] { return receivers.requests("/ok/crud").size() == 1; }, seconds(10)));
    one = json(http.get("/api/v1/rules/" + std::to_string(id)));
    REQUIRE(one["recent_deliveries"].Size() == 1);
    CHECK(std::string(one["recent_deliveries"][0]["state"].GetString()) == "delivered");

    // Replaced: the new condition applies.
    HttpReply replaced = http.request(
        "PUT", "/api/v1/rules/" + std::to_string(id),
        R"({"name": "crud", "topic_filter": "c/+", "where": "v<0", "actions": [{"type": "webhook", "url": ")" +
            ok_url + R"("}]})",
        {"Content-Type: application/json"});
    INFO(replaced.body);
    REQUIRE(replaced.status == 200);
    wait_rules_loaded(http, 2);
    // A change made in SQL directly (another tool, another broker's API) is seen too.
    {
        PgConnection sql(cluster().conninfo(api.db));
        REQUIRE(sql.connect().is_ok());
        REQUIRE(sql.exec("UPDATE culex.rules SET enabled = false WHERE name = 'sentinel'").ok());
    }
    wait_rules_loaded(http, 1);
    CHECK(json(http.post_json("/api/v1/rules/enable", ""))["changed"].GetInt64() == 1);
    wait_rules_loaded(http, 2);
    publish_and_settle("c/4", R"({"v": 50})");
    publish_and_settle("c/5", R"({"v": -1})");
    REQUIRE(wait_until([&] { return receivers.requests("/ok/crud").size() == 2; }, seconds(10)));

    // Disable all, then delete.
    CHECK(json(http.post_json("/api/v1/rules/disable", ""))["changed"].GetInt64() == 2);
    CHECK(http.del("/api/v1/rules/" + std::to_string(id)).status == 204);
    CHECK(http.get("/api/v1/rules/" + std::to_string(id)).status == 404);
    CHECK(http.del("/api/v1/rules/" + std::to_string(id)).status == 404);
    CHECK(http.post_json("/api/v1/rules/" + std::to_string(id) + "/enable", "").status == 404);
    CHECK(http.get("/api/v1/rules/abc").status == 400);
    // Its deliveries stay readable after the rule is gone.
    rapidjson::Document remaining = json(http.get("/api/v1/deliveries?kind=webhook&limit=1"));
    CHECK(remaining["items"].Size() == 1);
    CHECK(remaining["has_more"].GetBool());
    rapidjson::Document next = json(http.get("/api/v1/deliveries?kind=webhook&limit=1&cursor=" +
                                             std::string(remaining["next_cursor"].GetString())));
    CHECK(next["items"][0]["id"].GetInt64() < remaining["items"][0]["id"].GetInt64());
    CHECK(http.get("/api/v1/deliveries?state=lost").status == 400);

    // Access: no token, a read-only token, a token limited to some topics.
    HttpClient anonymous(api.base);
    CHECK(anonymous.get("/api/v1/rules").status == 401);
    auto token_for = [&](const std::string& body) {
        HttpReply reply = http.post_json("/api/v1/tokens", body);
        REQUIRE(reply.status == 201);
        return std::string(json(reply)["token"].GetString());
    };
    HttpClient reader(api.base, token_for(R"({"name": "r", "scopes": ["read"]})"));
    CHECK(reader.get("/api/v1/rules").status == 403);
    CHECK(reader.post_json("/api/v1/sms", R"({"to": "+1555", "text": "x"})").status == 403);
    HttpClient limited(
        api.base, token_for(R"({"name": "w", "scopes": ["write"], "topic_filters": ["team/#"]})"));
    CHECK(limited.get("/api/v1/rules/" + std::to_string(sentinel)).status == 404);
    CHECK(json(limited.get("/api/v1/rules"))["items"].Size() == 0);
    CHECK(limited
              .post_json("/api/v1/rules", R"({"name": "l1", "topic_filter": "#",
        "actions": [{"type": "webhook", "url": ")" +
                                              ok_url + R"("}]})")
              .status == 403);
    CHECK(limited
              .post_json("/api/v1/rules", R"({"name": "l2", "topic_filter": "team/a",
        "actions": [{"type": "republish", "topic": "other/x"}]})")
              .status == 403);
    CHECK(limited
              .post_json("/api/v1/rules", R"({"name": "l3", "topic_filter": "team/a",
        "actions": [{"type": "republish", "topic": "team/{{topic}}"}]})")
              .status == 403);
    CHECK(limited
              .post_json("/api/v1/rules", R"({"name": "l4", "topic_filter": "team/+",
        "actions": [{"type": "republish", "topic": "team/copy"}]})")
              .status == 201);
    CHECK(json(limited.get("/api/v1/rules"))["items"].Size() == 1);
    CHECK(limited.post_json("/api/v1/rules/disable", "").status == 403);
    HttpClient writer(api.base, token_for(R"({"name": "all-topics", "scopes": ["write"]})"));
    CHECK(writer.post_json("/api/v1/rules/disable", "").status == 200);
    CHECK(limited.get("/api/v1/deliveries").status == 403);
}

TEST_CASE("a rule change applies to the very next message here, and reaches other brokers",
          "[rules]") {
    ApiBroker api(kToken, {{"delivery_allow", "127.0.0.1"}});
    HttpClient http(api.base, kToken);
    Subscriber out(api.broker.port(), "imm/out/#");
    MqttClient device(api.broker.port(), "dev-imm");
    // Each rule is created and, with no wait at all, a matching message is published.
    int64_t first = 0;
    for (int i = 0; i < 5; ++i) {
        const std::string n = std::to_string(i);
        const int64_t id = create_rule(
            http, R"({"name": "imm)" + n + R"(", "topic_filter": "imm/in/)" + n +
                      R"(", "actions": [{"type": "republish", "topic": "imm/out/)" + n + R"("}]})");
        first = i == 0 ? id : first;
        device.publish("imm/in/" + n, "m" + n, 1);
        REQUIRE(device.wait_acked());
        INFO("rule " << i);
        REQUIRE(wait_until([&] { return out.count() == size_t(i + 1); }, seconds(20)));
    }
    // Disabled, then a message at once: not matched. A later rule's message is the fence:
    // batches are matched in order, so once its copy is out the first was passed over.
    REQUIRE(http.post_json("/api/v1/rules/" + std::to_string(first) + "/disable", "").status ==
            200);
    device.publish("imm/in/0", "after disable", 1);
    create_rule(http, R"({"name": "fence", "topic_filter": "imm/fence",
        "actions": [{"type": "republish", "topic": "imm/out/fence"}]})");
    device.publish("imm/fence", "fence", 1);
    REQUIRE(wait_until([&] { return out.count() == 6; }, seconds(20)));
    for (const Received& r : out.received())
        CHECK(r.payload != "after disable");

    // A second broker on the same database hears of a change through NOTIFY; its
    // fallback poll of the generation counter comes only every 5 s.
    const std::string other_token = "other-admin-token-0123456789";
    const int other_http = free_port();
    PluginOpts other_opts =
        plugin_opts_for(api.db, {{"broker_id", "other"},
                                 {"http_listen", "127.0.0.1:" + std::to_string(other_http)},
                                 {"admin_token", other_token}});
    BrokerProcess other(other_opts);
    REQUIRE(other.wait_ready());
    HttpClient other_http_client("http://127.0.0.1:" + std::to_string(other_http), other_token);
    const auto rules_loaded = [&] {
        const std::string m = other_http_client.get("/metrics").body;
        const size_t at = m.find("\nculex_rules_loaded ");
        return at == std::string::npos ? -1 : std::atoi(m.c_str() + at + 20);
    };
    REQUIRE(wait_until([&] { return rules_loaded() == 5; }, seconds(20)));  // 4 enabled + the fence
    create_rule(http, R"({"name": "remote", "topic_filter": "imm/remote",
        "actions": [{"type": "republish", "topic": "imm/out/remote"}]})");
    CHECK(wait_until([&] { return rules_loaded() == 6; }, seconds(4)));
    Subscriber other_out(other.port(), "imm/out/remote");
    MqttClient other_device(other.port(), "dev-other");
    other_device.publish("imm/remote", "remote", 1);
    CHECK(wait_until([&] { return other_out.count() == 1; }, seconds(20)));
}

TEST_CASE("without e-mail or SMS configured, sends get 503 and rules that would send 409",
          "[rules]") {
    ApiBroker api(kToken, {{"delivery_allow", "127.0.0.1"}});
    HttpClient http(api.base, kToken);
    HttpReply email = http.post_json("/api/v1/email", R"({"to": "a@example.com",
        "subject": "s", "text": "t"})");
    CHECK(email.status == 503);
    CHECK(email.body.find("plugin_opt_smtp_url") != std::string::npos);
    for (const auto& [action, option] :
         {std::pair<std::string, std::string>{
              R"({"type": "email", "to": "a@example.com", "subject": "s", "text": "t"})",
              "plugin_opt_smtp_url"},
          {R"({"type": "sms", "to": "+15551234567", "text": "t"})",
           "plugin_opt_sms_account_sid"}}) {
        HttpReply reply = http.post_json(
            "/api/v1/rules",
            R"({"name": "unsendable", "topic_filter": "u/#", "actions": [)" + action + "]}");
        INFO(reply.body);
        CHECK(reply.status == 409);
        CHECK(reply.content_type == "application/problem+json");
        CHECK(reply.body.find(option) != std::string::npos);
    }
    CHECK(json(http.get("/api/v1/rules"))["items"].Size() == 0);
}
