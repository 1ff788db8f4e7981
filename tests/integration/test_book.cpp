// The book platform's routes against the real broker: every route, URL-encoded topics,
// hostile path segments, token checks, and the switch that turns them off.
#include <rapidjson/document.h>
#include <catch2/catch.hpp>

#include <regex>
#include <set>

#include "common/base64.h"
#include "common/clock.h"
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

constexpr const char* kToken = "book-admin-token-0123456789";

// Percent-encodes a whole path segment (`/` included), as apps of the book do.
std::string enc(const std::string& segment) {
    return url_encode(segment);
}

struct Book {
    Receivers receivers;
    ApiBroker api{kToken,
                  {{"delivery_allow", "127.0.0.1"},
                   {"smtp_url", "smtp://127.0.0.1:" + std::to_string(receivers.smtp_port())},
                   {"smtp_starttls", "false"},
                   {"smtp_username", kSmtpUser},
                   {"smtp_password", kSmtpPassword},
                   {"smtp_from", "culex@example.com"},
                   {"sms_url", "http://127.0.0.1:" + std::to_string(receivers.http_port())},
                   {"sms_account_sid", kSmsSid},
                   {"sms_auth_token", kSmsToken},
                   {"sms_from", "+15550001111"}}};
    HttpClient http{api.base, kToken};
};

Book& book() {
    static Book instance;
    return instance;
}

// Publishes `payload` on `topic` from a device and waits until it is stored.
int64_t stored(const std::string& topic, const std::string& payload) {
    MqttClient device(book().api.broker.port(), "book-device");
    const size_t before =
        json(book().http.get("/get/" + enc(topic) + "/last/1000")).GetArray().Size();
    device.publish(topic, payload, 1);
    REQUIRE(device.wait_acked());
    REQUIRE(wait_until(
        [&] {
            return json(book().http.get("/get/" + enc(topic) + "/last/1000")).GetArray().Size() ==
                   before + 1;
        },
        seconds(20)));
    return json(book().http.get("/get/" + enc(topic)))[0]["id"].GetInt64();
}

std::vector<std::string> payloads_of(const rapidjson::Document& records) {
    std::vector<std::string> out;
    for (const auto& r : records.GetArray())
        out.emplace_back(r["payload"].GetString());
    return out;
}

}  // namespace

TEST_CASE("book reads: latest, last N, patterns, time windows; the book's record format",
          "[book]") {
    HttpClient& http = book().http;
    for (int i = 0; i < 5; ++i)
        stored("home/kitchen/temp", "t" + std::to_string(i));
    stored("home/hall/temp", "hall hot");
    stored("office/desk/temp", "desk");

    rapidjson::Document latest = json(http.get("/get/home%2Fkitchen%2Ftemp"));
    REQUIRE(latest.IsArray());
    REQUIRE(latest.Size() == 1);
    const auto& r = latest[0];
    CHECK(std::string(r["topic"].GetString()) == "home/kitchen/temp");
    CHECK(std::string(r["payload"].GetString()) == "t4");
    CHECK(std::regex_match(std::string(r["timestamp"].GetString()),
                           std::regex("[0-9]{10}\\.[0-9]{3}")));
    CHECK(r["id"].IsInt64());
    // The same record through /api/v1: same id, same time.
    rapidjson::Document v1 =
        json(http.get("/api/v1/messages/" + std::to_string(r["id"].GetInt64())));
    CHECK(std::to_string(v1["received_at_ms"].GetInt64() / 1000) + "." +
              std::to_string(1000 + v1["received_at_ms"].GetInt64() % 1000).substr(1) ==
          r["timestamp"].GetString());

    CHECK(payloads_of(json(http.get("/get/home%2Fkitchen%2Ftemp/last/3"))) ==
          std::vector<std::string>{"t4", "t3", "t2"});
    CHECK(json(http.get("/get/no%2Fsuch%2Ftopic")).Size() == 0);

    // Patterns: * in topic and payload.
    CHECK(payloads_of(json(http.get("/get/topicLike/home%2F*%2Ftemp/payloadLike/*hot*/last/10"))) ==
          std::vector<std::string>{"hall hot"});
    CHECK(json(http.get("/get/topicLike/home%2F*/payloadLike/*/last/10")).Size() == 6);
    CHECK(json(http.get("/get/topicLike/*temp/payloadLike/t*/last/2")).Size() == 2);
    // LIKE's own characters are literal in the book's patterns.
    CHECK(json(http.get("/get/topicLike/home%2F%25/payloadLike/*/last/10")).Size() == 0);
    CHECK(json(http.get("/get/topicLike/home_kitchen_temp/payloadLike/*/last/10")).Size() == 0);

    // Windows, bounds inclusive, in epoch seconds with three decimals.
    rapidjson::Document all = json(http.get("/get/home%2Fkitchen%2Ftemp/last/5"));
    const std::string t1 = all[3]["timestamp"].GetString();  // "t1"
    const std::string t3 = all[1]["timestamp"].GetString();  // "t3"
    auto window = [&](const std::string& path) { return payloads_of(json(http.get(path))); };
    CHECK(window("/get/home%2Fkitchen%2Ftemp/after/" + t3 + "/last/10") ==
          std::vector<std::string>{"t4", "t3"});
    CHECK(window("/get/home%2Fkitchen%2Ftemp/before/" + t1 + "/last/10") ==
          std::vector<std::string>{"t1", "t0"});
    CHECK(window("/get/home%2Fkitchen%2Ftemp/during/" + t1 + "/" + t3 + "/last/10") ==
          std::vector<std::string>{"t3", "t2", "t1"});
    // To the second, `before` takes in that whole second.
    const std::string second = t1.substr(0, t1.find('.'));
    const auto to_second = window("/get/home%2Fkitchen%2Ftemp/before/" + second + "/last/10");
    CHECK(std::find(to_second.begin(), to_second.end(), "t1") != to_second.end());
    CHECK(window("/get/home%2F*/during/" + t1 + "/" + t3 + "/last/1").size() == 1);
    CHECK(window("/get/home%2Fkitchen%2Ftemp/after/2000-01-01T00:00:00Z/last/10").size() == 5);
}

TEST_CASE("book publish, soft delete and purge", "[book]") {
    HttpClient& http = book().http;
    Subscriber subscriber(book().api.broker.port(), "pub/#");
    HttpReply reply = http.request("POST", "/pub/pub%2Fa%2Fb/hello%20world%2F%3F", "", {});
    INFO(reply.body);
    REQUIRE(reply.status == 200);
    CHECK(json(reply)["success"].GetBool());
    REQUIRE(wait_until([&] { return subscriber.count() == 1; }, seconds(10)));
    CHECK(subscriber.received()[0].topic == "pub/a/b");
    CHECK(subscriber.received()[0].payload == "hello world/?");
    CHECK(subscriber.received()[0].qos == 2);
    CHECK_FALSE(subscriber.received()[0].retain);
    REQUIRE(
        wait_until([&] { return json(http.get("/get/pub%2Fa%2Fb")).Size() == 1; }, seconds(10)));

    for (int i = 0; i < 6; ++i)
        stored("del/t", "d" + std::to_string(i));
    const int64_t id = json(http.get("/get/del%2Ft"))[0]["id"].GetInt64();  // d5
    auto counts = [&](const std::string& method, const std::string& path) {
        HttpReply r = http.request(method, path, "", {});
        INFO(path << " " << r.body);
        REQUIRE(r.status == 200);
        rapidjson::Document d = json(r);
        return std::pair<int64_t, int64_t>{d["found"].GetInt64(), d["changed"].GetInt64()};
    };
    CHECK(counts("GET", "/delete/del%2Ft/id/" + std::to_string(id)) ==
          std::pair<int64_t, int64_t>{1, 1});
    CHECK(counts("GET", "/delete/del%2Ft/id/" + std::to_string(id)) ==
          std::pair<int64_t, int64_t>{1, 0});
    CHECK(counts("GET", "/delete/other/id/" + std::to_string(id)).second == 0);  // topic must match
    CHECK(counts("GET", "/delete/del%2Ft/first/2").second == 2);                 // d0, d1
    CHECK(counts("GET", "/delete/del%2Ft/last/1").second == 1);                  // d4
    CHECK(payloads_of(json(http.get("/get/del%2Ft/last/10"))) ==
          std::vector<std::string>{"d3", "d2"});
    // Purge removes soft-deleted rows only; it is HTTP DELETE.
    CHECK(http.get("/purge/del%2Ft").status == 405);
    CHECK(counts("DELETE", "/purge/del%2Ft/id/" + std::to_string(id)).second == 1);
    CHECK(counts("DELETE", "/purge/del%2Ft/first/1").second == 1);
    CHECK(counts("DELETE", "/purge/del%2Ft/last/1").second == 1);
    CHECK(counts("DELETE", "/purge/del%2Ft").second == 1);
    CHECK(counts("DELETE", "/purge/del%2Ft").second == 0);
    CHECK(counts("GET", "/delete/del%2Ft").second == 2);
    CHECK(counts("DELETE", "/purge/del%2Ft").second == 2);
    CHECK(json(http.get("/get/del%2Ft/last/10")).Size() == 0);
    PgConnection db(cluster().conninfo(book().api.db));
    REQUIRE(db.connect().is_ok());
    PgOutcome left = db.exec("SELECT count(*) FROM culex.messages WHERE topic = 'del/t'");
    REQUIRE(left.ok());
    CHECK(std::string(PQgetvalue(left.result.get(), 0, 0)) == "0");
}

TEST_CASE("book utilities, e-mail and SMS", "[book]") {
    HttpClient& http = book().http;
    rapidjson::Document t = json(http.get("/timestamp"));
    const int64_t now_ms = std::stoll(t["timestamp"].GetString());
    CHECK(std::abs(now_ms - wall_clock_us() / 1000) < 60000);
    const std::string code = json(http.get("/randomcode/12"))["code"].GetString();
    CHECK(std::regex_match(code, std::regex("[A-Za-z0-9]{12}")));
    CHECK(http.get("/randomcode/0").status == 400);
    CHECK(http.get("/randomcode/99999").status == 400);
    CHECK(std::regex_match(
        std::string(json(http.get("/uuid"))["uuid"].GetString()),
        std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));

    HttpReply mail =
        http.get("/email/to/a%40example.com,b%40example.com/subject/Hi%20there/message/Line%201");
    INFO(mail.body);
    REQUIRE(mail.status == 200);
    REQUIRE(wait_until([&] { return book().receivers.mail().size() == 1; }, seconds(20)));
    CHECK(book().receivers.mail()[0]["rcpt_tos"].Size() == 2);
    const std::string data = *base64_decode(book().receivers.mail()[0]["data"].GetString());
    CHECK(data.find("Subject: Hi there\r\n") != std::string::npos);
    HttpReply sms = http.get("/sms/to/%2B15551112222/message/Door%20open");
    REQUIRE(sms.status == 200);
    REQUIRE(wait_until([&] { return book().receivers.requests("/2010-04-01/").size() == 1; },
                       seconds(20)));
    CHECK(*base64_decode(book().receivers.requests("/2010-04-01/")[0]["body"].GetString()) ==
          "To=%2B15551112222&From=%2B15550001111&Body=Door%20open");
    CHECK(http.get("/email/to/nobody/subject/s/message/m").status == 400);
    CHECK(http.get("/email/to/a%40b.c/subject/two%0Alines/message/m").status == 400);
    CHECK(http.get("/sms/to/%2B1%20555/message/m").status == 400);
}

TEST_CASE("book rules: added disabled, enabled, fire with the book's body, disabled, deleted",
          "[book]") {
    HttpClient& http = book().http;
    Receivers& receivers = book().receivers;
    auto add = [&](const std::string& name, const std::string& form) {
        return http.request("POST", "/rules/add/" + name, form,
                            {"Content-Type: application/x-www-form-urlencoded"});
    };
    HttpReply added =
        add("hot", "topicPattern=plant%2F%25%2Ftemp&payloadPattern=%25hot%25&method=post&webHook=" +
                       url_encode(receivers.url("/ok/book-hot")));
    INFO(added.body);
    REQUIRE(added.status == 200);
    const int64_t id = json(added)["id"].GetInt64();
    CHECK(add("hot", "topicPattern=x&method=post&webHook=" + url_encode(receivers.url("/ok/x")))
              .status == 409);
    CHECK(add("bad", "topicPattern=x&method=post").status == 400);
    CHECK(add("bad", "topicPattern=x&method=post&webHook=ftp%3A%2F%2Fx").status == 400);
    CHECK(add("bad", "topicPattern=x&method=TRACE&webHook=" + url_encode(receivers.url("/ok/x")))
              .status == 400);
    CHECK(
        http.request("POST", "/rules/add/json", "{}", {"Content-Type: application/json"}).status ==
        415);

    // Disabled: nothing fires. A sentinel rule on /api/v1 shows the matcher has seen it.
    HttpReply sentinel =
        http.post_json("/api/v1/rules", R"({"name": "book-sentinel", "topic_filter": "sentinel",
        "actions": [{"type": "webhook", "url": ")" +
                                            receivers.url("/ok/book-sentinel") + R"("}]})");
    REQUIRE(sentinel.status == 201);
    // Rules reach the matcher within a second of a change.
    auto wait_loaded = [&](int n) {
        const std::string line = "culex_rules_loaded " + std::to_string(n) + "\n";
        REQUIRE(
            wait_until([&] { return http.get("/metrics").body.find(line) != std::string::npos; },
                       seconds(10)));
    };
    wait_loaded(1);
    auto settle = [&](const std::string& topic, const std::string& payload) {
        const size_t before = receivers.requests("/ok/book-sentinel").size();
        MqttClient device(book().api.broker.port(), "book-rules");
        device.publish(topic, payload, 1);
        device.publish("sentinel", "x", 1);
        REQUIRE(device.wait_acked());
        REQUIRE(
            wait_until([&] { return receivers.requests("/ok/book-sentinel").size() == before + 1; },
                       seconds(20)));
    };
    settle("plant/boiler/temp", "way too hot");
    CHECK(receivers.requests("/ok/book-hot").empty());

    REQUIRE(http.get("/rules/enable/" + std::to_string(id)).status == 200);
    CHECK(json(http.get("/rules/enable/" + std::to_string(id)))["changed"].GetInt64() == 0);
    wait_loaded(2);
    settle("plant/boiler/temp", "way too hot");
    settle("plant/boiler/temp", "fine");         // payload does not match
    settle("plant/boiler/pressure", "too hot");  // topic does not match
    REQUIRE(
        wait_until([&] { return receivers.requests("/ok/book-hot").size() == 1; }, seconds(10)));
    const auto hooks = receivers.requests("/ok/book-hot");
    const rapidjson::Document& hook = hooks[0];
    CHECK(std::string(hook["method"].GetString()) == "POST");
    rapidjson::Document body;
    body.Parse(base64_decode(hook["body"].GetString())->c_str());
    REQUIRE(body.IsArray());
    REQUIRE(body.Size() == 1);
    CHECK(body[0]["id"].GetInt64() == id);
    CHECK(std::string(body[0]["ruleName"].GetString()) == "hot");
    CHECK(std::string(body[0]["topicPattern"].GetString()) == "plant/%/temp");
    CHECK(std::string(body[0]["payloadPattern"].GetString()) == "%hot%");
    CHECK(std::string(body[0]["webHook"].GetString()) == receivers.url("/ok/book-hot"));
    CHECK(std::string(body[0]["message"]["topic"].GetString()) == "plant/boiler/temp");
    CHECK(std::string(body[0]["message"]["payload"].GetString()) == "way too hot");
    CHECK(body[0]["message"]["id"].GetInt64() > 0);

    CHECK(json(http.get("/rules/disable/" + std::to_string(id)))["changed"].GetInt64() == 1);
    CHECK(json(http.get("/rules/disableAll"))["changed"].GetInt64() == 1);  // the sentinel
    CHECK(json(http.get("/rules/enableAll"))["changed"].GetInt64() == 2);
    CHECK(json(http.get("/rules/delete/" + std::to_string(id)))["changed"].GetInt64() == 1);
    CHECK(http.get("/rules/delete/" + std::to_string(id)).status == 404);
    CHECK(http.get("/rules/enable/abc").status == 400);
    CHECK(http.get("/api/v1/rules/" + std::to_string(id)).status == 404);
}

TEST_CASE("book routes check tokens and topic filters, and refuse hostile segments", "[book]") {
    HttpClient& http = book().http;
    stored("team/a", "mine");
    stored("other/b", "theirs");
    HttpClient anonymous(book().api.base);
    for (const char* path : {"/get/team%2Fa", "/timestamp", "/uuid", "/randomcode/5",
                             "/rules/enableAll", "/get/topicLike/*/payloadLike/*/last/1"}) {
        INFO(path);
        CHECK(anonymous.get(path).status == 401);
    }
    HttpReply made =
        http.post_json("/api/v1/tokens", R"({"name": "team", "scopes": ["read", "write"],
        "topic_filters": ["team/#"]})");
    REQUIRE(made.status == 201);
    HttpClient team(book().api.base, json(made)["token"].GetString());
    CHECK(json(team.get("/get/team%2Fa")).Size() == 1);
    // A topic's '/' left unencoded misses every route; the 404 says how to write it.
    for (const char* path : {"/get/team/a", "/get/team/a/last/1", "/pub/team/a/hello"}) {
        HttpReply missed = path[1] == 'p' ? team.post_json(path, "") : team.get(path);
        INFO(path << " -> " << missed.body);
        CHECK(missed.status == 404);
        CHECK(missed.content_type == "application/problem+json");
        CHECK(missed.body.find("write each '/' in it as %2F") != std::string::npos);
    }
    CHECK(team.get("/nothing/here").body.find("%2F") == std::string::npos);
    CHECK(team.get("/get/other%2Fb").status == 403);
    CHECK(team.get("/get/topicLike/*/payloadLike/*/last/5").status == 403);
    CHECK(team.get("/get/team%2F*/after/0/last/5").status == 403);
    CHECK(team.request("POST", "/pub/other%2Fx/1", "", {}).status == 403);
    CHECK(team.request("POST", "/pub/team%2Fx/1", "", {}).status == 200);
    CHECK(team.get("/delete/other%2Fb").status == 403);
    CHECK(team.get("/rules/enableAll").status == 403);
    CHECK(team.request("POST", "/rules/add/t",
                       "topicPattern=team%2F%25&method=post&webHook=http%3A%2F%2F127.0.0.1%2Fx",
                       {"Content-Type: application/x-www-form-urlencoded"})
              .status == 403);
    HttpClient reader(
        book().api.base,
        json(http.post_json("/api/v1/tokens", R"({"name": "reader", "scopes": ["read"]})"))["token"]
            .GetString());
    CHECK(reader.get("/delete/team%2Fa").status == 403);
    CHECK(reader.request("POST", "/pub/team%2Fa/x", "", {}).status == 403);

    // Hostile segments: injection text is data, bad encodings and bad values are 400s.
    const int64_t before = json(http.get("/get/team%2Fa/last/100")).Size();
    for (const std::string& topic :
         {std::string("x' OR '1'='1"), std::string("a\"; DROP TABLE culex.message_store; --"),
          std::string("%' --"), std::string("..%2F..%2Fetc")}) {
        INFO(topic);
        CHECK(json(http.get("/get/" + enc(topic) + "/last/10")).Size() == 0);
        CHECK(json(http.get("/get/topicLike/" + enc(topic) + "/payloadLike/" + enc(topic) +
                            "/last/10"))
                  .Size() == 0);
        CHECK(json(http.get("/delete/" + enc(topic)))["changed"].GetInt64() == 0);
    }
    CHECK(json(http.get("/get/team%2Fa/last/100")).Size() == before);
    for (const char* path :
         {"/get/a%00b", "/get/a%ffb", "/get/a%2", "/get/a%2Fb/last/0", "/get/a/last/1001",
          "/get/a/last/x", "/get/a%2B%23/last/1", "/get/a/after/yesterday/last/1",
          "/get/a/during/20/10/last/1", "/get/topicLike/%ff/payloadLike/x/last/1",
          "/delete/a/id/-1", "/delete/a/first/0", "/get/a?x=1"}) {
        INFO(path);
        HttpReply reply = http.get(path);
        CHECK(reply.status == 400);
        CHECK(reply.content_type == "application/problem+json");
    }
    CHECK(http.request("POST", "/pub/a%2B/x", "", {}).status == 400);
    CHECK(http.request("POST", "/pub/%24SYS%2Fx/x", "", {}).status == 400);
    CHECK(http.get("/get/a/b/c").status == 404);
}

TEST_CASE("book_api false turns the whole layer off", "[book]") {
    ApiBroker off(kToken, {{"book_api", "false"}});
    HttpClient http(off.base, kToken);
    CHECK(http.get("/get/a").status == 404);
    CHECK(http.get("/uuid").status == 404);
    CHECK(http.get("/api/v1/uuid").status == 200);
}
