// Apps use the HTTP API of a real broker: reads, queries, aggregates, inserts, deletes,
// tokens, and every kind of bad input, against a private PostgreSQL.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <map>
#include <set>

#include "common/base64.h"
#include "common/topic_filter.h"
#include "common/utf8.h"
#include "support/api_broker.h"
#include "support/fixture.h"
#include "support/http_client.h"

using namespace culex::test;

namespace {

constexpr const char* kAdminToken = "test-admin-token-0123456789";

// One broker with the API for the whole binary; each test case uses its own topics.
ApiBroker& api() {
    static ApiBroker instance(kAdminToken);
    return instance;
}

// A problem+json answer with this status and a detail.
void check_problem(const HttpReply& reply, long status) {
    INFO(reply.body);
    CHECK(reply.status == status);
    CHECK(reply.content_type == "application/problem+json");
    rapidjson::Document doc = json(reply);
    REQUIRE(doc.IsObject());
    CHECK(doc["status"].GetInt() == status);
    CHECK(doc["detail"].GetStringLength() > 0);
    // Nothing from PostgreSQL's error reports reaches the client.
    for (const char* leak : {"ERROR", "SQLSTATE", "syntax error", "relation \\\"", "LINE 1"})
        CHECK(reply.body.find(leak) == std::string::npos);
}

int64_t insert(HttpClient& http, const std::string& topic, const std::string& payload,
               int64_t time_ms) {
    rapidjson::Document body;
    body.SetObject();
    auto& a = body.GetAllocator();
    body.AddMember("topic", rapidjson::Value(topic.c_str(), a), a);
    body.AddMember("payload", rapidjson::Value(payload.c_str(), a), a);
    body.AddMember("time", time_ms, a);
    rapidjson::StringBuffer out;
    rapidjson::Writer<rapidjson::StringBuffer> w(out);
    body.Accept(w);
    HttpReply reply = http.post_json("/api/v1/messages", out.GetString());
    INFO(reply.body);
    REQUIRE(reply.status == 201);
    return json(reply)["id"].GetInt64();
}

std::vector<int64_t> ids_of(const rapidjson::Document& page) {
    std::vector<int64_t> ids;
    for (const auto& item : page["items"].GetArray())
        ids.push_back(item["id"].GetInt64());
    return ids;
}

std::vector<int64_t> all_ids(HttpClient& http, const std::string& query) {
    rapidjson::Document page = json(http.get("/api/v1/messages?" + query));
    return ids_of(page);
}

// Pages through a series and returns every id in the order served.
std::vector<int64_t> walk(HttpClient& http, const std::string& query, int limit) {
    std::vector<int64_t> ids;
    std::string cursor;
    for (int pages = 0; pages < 1000; ++pages) {
        std::string q = query + "&limit=" + std::to_string(limit);
        if (!cursor.empty())
            q += "&cursor=" + cursor;
        HttpReply reply = http.get("/api/v1/messages?" + q);
        REQUIRE(reply.status == 200);
        rapidjson::Document page = json(reply);
        for (int64_t id : ids_of(page))
            ids.push_back(id);
        if (!page["has_more"].GetBool()) {
            CHECK(page["next_cursor"].IsNull());
            return ids;
        }
        REQUIRE(page["items"].Size() == static_cast<unsigned>(limit));
        cursor = page["next_cursor"].GetString();
    }
    FAIL("pagination did not end");
    return ids;
}

const int64_t kBase = 1767225600000;  // 2026-01-01T00:00:00Z in ms

}  // namespace

TEST_CASE("messages published over MQTT are served byte for byte", "[http]") {
    ApiBroker& a = api();
    HttpClient http(a.base, kAdminToken);
    MqttClient device(a.broker.port(), "device-1", "alice");
    std::string all_bytes;
    for (int i = 0; i < 256; ++i)
        all_bytes += static_cast<char>(i);
    const std::vector<std::string> payloads = {"{\"temp\": 21.5}", all_bytes, "", "héllo",
                                               std::string("a\0b", 3)};
    for (const std::string& p : payloads)
        device.publish("mqtt/exact", p, 1);
    REQUIRE(device.wait_acked());
    std::vector<int64_t> ids;
    REQUIRE(wait_until(
        [&] {
            ids = all_ids(http, "topic=mqtt/exact&order=asc");
            return ids.size() == payloads.size();
        },
        std::chrono::seconds(30)));
    for (size_t i = 0; i < payloads.size(); ++i) {
        HttpReply one = http.get("/api/v1/messages/" + std::to_string(ids[i]));
        REQUIRE(one.status == 200);
        CHECK(one.content_type == "application/json");
        rapidjson::Document m = json(one);
        const std::string text(m["payload"].GetString(), m["payload"].GetStringLength());
        if (culex::is_valid_utf8(payloads[i])) {
            CHECK_FALSE(m.HasMember("encoding"));
            CHECK(text == payloads[i]);
        } else {
            CHECK(m["encoding"].GetString() == std::string("base64"));
            CHECK(culex::base64_decode(text) == payloads[i]);
        }
        CHECK(m["topic"].GetString() == std::string("mqtt/exact"));
        CHECK(m["qos"].GetInt() == 1);
        CHECK(m["client_id"].GetString() == std::string("device-1"));
        CHECK(m["username"].GetString() == std::string("alice"));
        CHECK(m["broker"].GetString() == std::string("test-broker"));
        const std::string rfc = m["received_at"].GetString();
        CHECK(rfc.size() == 27);
        CHECK(rfc.back() == 'Z');
        HttpReply raw = http.get("/api/v1/messages/" + std::to_string(ids[i]) + "/payload");
        CHECK(raw.status == 200);
        CHECK(raw.content_type == "application/octet-stream");
        CHECK(raw.body == payloads[i]);
    }
    rapidjson::Document latest = json(http.get("/api/v1/messages/latest?topic=mqtt%2Fexact"));
    CHECK(latest["id"].GetInt64() == ids.back());
}

TEST_CASE("keyset pagination serves each record once, in order, both ways", "[http]") {
    HttpClient http(api().base, kAdminToken);
    std::vector<int64_t> expected;
    // Pairs of records share a timestamp: the id breaks the tie.
    for (int i = 0; i < 125; ++i) {
        expected.push_back(insert(http, "page/a", std::to_string(i), kBase + i * 1000));
        expected.push_back(insert(http, "page/a", std::to_string(i) + "b", kBase + i * 1000));
    }
    CHECK(walk(http, "topic=page/a&order=asc", 100) == expected);
    std::vector<int64_t> reversed(expected.rbegin(), expected.rend());
    CHECK(walk(http, "topic=page/a", 7) == reversed);
    CHECK(walk(http, "topic=page/a&order=desc", 250) == reversed);
    CHECK(walk(http, "topic=page/a", 1000) == reversed);
}

TEST_CASE("conditions combine: time, payload text, JSON fields, qos, retain, client", "[http]") {
    HttpClient http(api().base, kAdminToken);
    const int64_t t0 = kBase + 86400000;
    const int64_t cold = insert(http, "cond/room1", "{\"temp\": 18, \"room\": \"hall\"}", t0);
    const int64_t warm =
        insert(http, "cond/room1", "{\"temp\": 25.5, \"room\": \"kitchen\"}", t0 + 1000);
    const int64_t hot = insert(http, "cond/room2", "{\"temp\": 31, \"alarm\": null}", t0 + 2000);
    const int64_t text = insert(http, "cond/room2", "door open", t0 + 3000);
    const int64_t number = insert(http, "cond/room3", "42", t0 + 4000);
    auto q = [&](const std::string& query) {
        return all_ids(http, "filter=cond%2F%23&order=asc&" + query);
    };
    CHECK(q("") == std::vector<int64_t>{cold, warm, hot, text, number});
    CHECK(q("after=" + std::to_string(t0)) == std::vector<int64_t>{warm, hot, text, number});
    CHECK(q("before=" + std::to_string(t0 + 2000)) == std::vector<int64_t>{cold, warm});
    CHECK(q("after=" + std::to_string(t0) + "&before=" + std::to_string(t0 + 3000)) ==
          std::vector<int64_t>{warm, hot});
    CHECK(q("after=2026-01-02T00:00:00.5Z") == std::vector<int64_t>{warm, hot, text, number});
    CHECK(q("where=temp%3E20") == std::vector<int64_t>{warm, hot});
    CHECK(q("where=temp%3E%3D18&where=temp%3C30") == std::vector<int64_t>{cold, warm});
    CHECK(q("where=room%3Dkitchen") == std::vector<int64_t>{warm});
    CHECK(q("where=room%21%3D%22kitchen%22") == std::vector<int64_t>{cold});
    CHECK(q("where=room%3Ch") == std::vector<int64_t>{});
    CHECK(q("where=room%3Ei") == std::vector<int64_t>{warm});
    CHECK(q("where=exists(alarm)") == std::vector<int64_t>{hot});
    CHECK(q("where=%24%3D42") == std::vector<int64_t>{number});
    CHECK(q("contains=door") == std::vector<int64_t>{text});
    CHECK(q("contains=temp") == std::vector<int64_t>{cold, warm, hot});
    CHECK(q("like=door%25") == std::vector<int64_t>{text});
    CHECK(q("like=%25%22temp%22%3A%202_.5%25") == std::vector<int64_t>{warm});
    CHECK(q("client_id=http&qos=0&retain=false").size() == 5);
    CHECK(q("qos=2").empty());
    CHECK(q("client_id=someone-else").empty());
    CHECK(all_ids(http, "filter=cond%2F%2B&where=temp%3E20&order=asc") ==
          std::vector<int64_t>{warm, hot});
    CHECK(all_ids(http, "topic=cond%2Froom2&order=asc") == std::vector<int64_t>{hot, text});
}

TEST_CASE("topic filters select what MQTT would deliver", "[http]") {
    HttpClient http(api().base, kAdminToken);
    const std::vector<std::string> topics = {"flt/a",    "flt/a/b", "flt/a/b/c", "flt/x/b",
                                             "flt/a.b",  "flt/a-b", "flt//b",    "flt/(a)",
                                             "$flt/a/b", "flt/é/b", "flt",       "flt/a/b/"};
    std::map<int64_t, std::string> topic_of;
    for (const std::string& t : topics)
        topic_of[insert(http, t, "x", kBase)] = t;
    for (const std::string filter : {"flt/#", "flt/+/b", "flt/a/#", "+/a/b", "#", "flt/+", "$flt/#",
                                     "flt/a.b", "flt/+/b/#", "flt//+", "flt/(a)", "+/+/b/+"}) {
        INFO(filter);
        std::set<std::string> served;
        for (int64_t id : walk(http, "filter=" + url_encode(filter), 1000)) {
            if (topic_of.count(id))
                served.insert(topic_of[id]);
        }
        std::set<std::string> expected;
        for (const std::string& t : topics) {
            if (culex::topic_matches(filter, t))
                expected.insert(t);
        }
        CHECK(served == expected);
    }
}

TEST_CASE("aggregates bucket a numeric field over time", "[http]") {
    HttpClient http(api().base, kAdminToken);
    const int64_t t0 = kBase + 2 * 86400000;
    // Minute 0: 10, 20, 30; minute 1: 5 and a non-number; minute 3: 7.25.
    insert(http, "agg/t", "{\"v\": 10}", t0);
    insert(http, "agg/t", "{\"v\": 20}", t0 + 20000);
    insert(http, "agg/t", "{\"v\": 30}", t0 + 40000);
    insert(http, "agg/t", "{\"v\": 5}", t0 + 60000);
    insert(http, "agg/t", "{\"v\": \"n/a\"}", t0 + 61000);
    insert(http, "agg/t", "{\"v\": 7.25}", t0 + 180000);
    insert(http, "agg/n", "3.5", t0);
    insert(http, "agg/n", "1.5", t0 + 1000);
    const std::string range =
        "&after=" + std::to_string(t0 - 1) + "&before=" + std::to_string(t0 + 3600000);
    HttpReply reply = http.get("/api/v1/messages/aggregate?topic=agg/t&field=v&bucket=1m" + range);
    REQUIRE(reply.status == 200);
    rapidjson::Document doc = json(reply);
    CHECK(doc["bucket_seconds"].GetInt() == 60);
    const auto& b = doc["buckets"];
    REQUIRE(b.Size() == 3);
    CHECK(b[0]["start_ms"].GetInt64() == t0);
    CHECK(b[0]["count"].GetInt() == 3);
    CHECK(b[0]["min"].GetDouble() == 10);
    CHECK(b[0]["max"].GetDouble() == 30);
    CHECK(b[0]["avg"].GetDouble() == 20);
    CHECK(b[0]["sum"].GetDouble() == 60);
    CHECK(b[0]["first"].GetDouble() == 10);
    CHECK(b[0]["last"].GetDouble() == 30);
    CHECK(b[1]["count"].GetInt() == 1);
    CHECK(b[2]["start_ms"].GetInt64() == t0 + 180000);
    CHECK(b[2]["avg"].GetDouble() == 7.25);
    rapidjson::Document whole =
        json(http.get("/api/v1/messages/aggregate?topic=agg/n&bucket=1h" + range));
    REQUIRE(whole["buckets"].Size() == 1);
    CHECK(whole["buckets"][0]["sum"].GetDouble() == 5);
    CHECK(whole["buckets"][0]["first"].GetDouble() == 3.5);
    check_problem(http.get("/api/v1/messages/aggregate?topic=agg/t&bucket=0s"), 400);
    check_problem(http.get("/api/v1/messages/aggregate?topic=agg/t&bucket=1s&after=0"), 400);
    check_problem(http.get("/api/v1/messages/aggregate?bucket=1m"), 400);
    check_problem(http.get("/api/v1/messages/aggregate?topic=agg/t&field=a..b"), 400);
}

TEST_CASE("the topics listing counts records and shows the latest", "[http]") {
    HttpClient http(api().base, kAdminToken);
    insert(http, "tl/a", "1", kBase);
    insert(http, "tl/a", "2", kBase + 1);
    insert(http, "tl/b", "3", kBase);
    insert(http, "tl/c/d", "4", kBase);
    rapidjson::Document page = json(http.get("/api/v1/topics?filter=tl%2F%23&limit=2"));
    REQUIRE(page["items"].Size() == 2);
    CHECK(page["items"][0]["topic"].GetString() == std::string("tl/a"));
    CHECK(page["items"][0]["messages"].GetInt() == 2);
    CHECK(page["items"][0]["latest"]["payload"].GetString() == std::string("2"));
    CHECK(page["has_more"].GetBool());
    rapidjson::Document next =
        json(http.get(std::string("/api/v1/topics?filter=tl%2F%23&limit=2&cursor=") +
                      page["next_cursor"].GetString()));
    REQUIRE(next["items"].Size() == 1);
    CHECK(next["items"][0]["topic"].GetString() == std::string("tl/c/d"));
    CHECK_FALSE(next["has_more"].GetBool());
}

TEST_CASE("deletes are soft, counted and refused without a condition; purge removes", "[http]") {
    HttpClient http(api().base, kAdminToken);
    auto db = cluster().connect(api().db);
    std::vector<int64_t> ids;
    for (int i = 0; i < 10; ++i)
        ids.push_back(insert(http, "del/a", "{\"n\": " + std::to_string(i) + "}", kBase + i));
    insert(http, "del/b", "keep", kBase);
    auto live = [&] { return all_ids(http, "topic=del/a&order=asc"); };
    auto rows_of = [&](const char* topic) {
        return std::stol(query_value(*db,
                                     "SELECT count(*) FROM culex.messages m"
                                     " WHERE topic = $1",
                                     {topic}));
    };

    // D5: one record.
    rapidjson::Document one = json(http.del("/api/v1/messages/" + std::to_string(ids[0])));
    CHECK(one["matched"].GetInt() == 1);
    CHECK(one["deleted"].GetInt() == 1);
    check_problem(http.get("/api/v1/messages/" + std::to_string(ids[0])), 404);
    check_problem(http.del("/api/v1/messages/" + std::to_string(ids[0])), 404);
    // D6: the oldest 2 and the newest 2 of what is left.
    CHECK(json(http.del("/api/v1/messages?topic=del/a&oldest=2"))["deleted"].GetInt() == 2);
    CHECK(json(http.del("/api/v1/messages?topic=del/a&newest=2"))["deleted"].GetInt() == 2);
    CHECK(live() == std::vector<int64_t>{ids[3], ids[4], ids[5], ids[6], ids[7]});
    // D7: by condition.
    rapidjson::Document cond = json(http.del("/api/v1/messages?topic=del/a&where=n%3E5"));
    CHECK(cond["deleted"].GetInt() == 2);
    CHECK(live() == std::vector<int64_t>{ids[3], ids[4], ids[5]});
    // Hidden rows still exist until purged; the other topic is untouched.
    CHECK(rows_of("del/a") == 3);
    CHECK(std::stol(query_value(*db,
                                "SELECT count(*) FROM culex.message_store s JOIN culex.topics t"
                                " ON t.id = s.topic_id WHERE t.name = 'del/a'")) == 10);
    check_problem(http.del("/api/v1/messages"), 400);
    check_problem(http.del("/api/v1/messages?oldest=5"), 400);
    check_problem(http.del("/api/v1/trash"), 400);
    // Purge one, then the rest of the topic's trash.
    rapidjson::Document purged_one = json(http.del("/api/v1/trash/" + std::to_string(ids[0])));
    CHECK(purged_one["purged"].GetInt() == 1);
    check_problem(http.del("/api/v1/trash/" + std::to_string(ids[3])), 404);  // live, not trash
    rapidjson::Document purged = json(http.del("/api/v1/trash?topic=del/a"));
    CHECK(purged["matched"].GetInt() == 9);
    CHECK(purged["purged"].GetInt() == 6);
    CHECK(std::stol(query_value(*db,
                                "SELECT count(*) FROM culex.message_store s JOIN culex.topics t"
                                " ON t.id = s.topic_id WHERE t.name = 'del/a'")) == 3);
    CHECK(rows_of("del/b") == 1);
    // Deleting all of a topic.
    CHECK(json(http.del("/api/v1/messages?topic=del/a"))["deleted"].GetInt() == 3);
    CHECK(live().empty());
}

TEST_CASE("tokens: scopes and topic filters bound every route", "[http]") {
    HttpClient admin(api().base, kAdminToken);
    const int64_t inside = insert(admin, "auth/room/1", "in", kBase);
    const int64_t outside = insert(admin, "other/room", "out", kBase);
    HttpReply created = admin.post_json(
        "/api/v1/tokens",
        R"({"name": "dashboard", "scopes": ["read"], "topic_filters": ["auth/#"]})");
    REQUIRE(created.status == 201);
    const std::string reader_token = json(created)["token"].GetString();
    CHECK(reader_token.rfind("cx_", 0) == 0);
    check_problem(admin.post_json("/api/v1/tokens", R"({"name": "dashboard", "scopes": ["read"]})"),
                  409);
    HttpReply writer_made = admin.post_json(
        "/api/v1/tokens",
        R"({"name": "ingest", "scopes": ["write"], "topic_filters": ["auth/+/1"]})");
    REQUIRE(writer_made.status == 201);
    const std::string writer_token = json(writer_made)["token"].GetString();

    HttpClient reader(api().base, reader_token);
    CHECK(reader.get("/api/v1/messages?topic=auth/room/1").status == 200);
    CHECK(reader.get("/api/v1/messages?filter=auth%2F%2B%2F1").status == 200);
    CHECK(reader.get("/api/v1/messages/" + std::to_string(inside)).status == 200);
    check_problem(reader.get("/api/v1/messages/" + std::to_string(outside)), 404);
    check_problem(reader.get("/api/v1/messages?topic=other/room"), 403);
    check_problem(reader.get("/api/v1/messages"), 403);
    check_problem(reader.get("/api/v1/messages?filter=%2B%2Froom%2F1"), 403);
    check_problem(reader.get("/api/v1/topics"), 403);
    check_problem(reader.post_json("/api/v1/messages", R"({"topic": "auth/x", "payload": "p"})"),
                  403);
    check_problem(reader.del("/api/v1/messages?topic=auth/room/1"), 403);
    check_problem(reader.get("/api/v1/tokens"), 403);

    HttpClient writer(api().base, writer_token);
    CHECK(writer.post_json("/api/v1/messages", R"({"topic": "auth/a/1", "payload": "p"})").status ==
          201);
    check_problem(writer.post_json("/api/v1/messages", R"({"topic": "auth/a/2", "payload": "p"})"),
                  403);
    check_problem(writer.get("/api/v1/messages?topic=auth/a/1"), 403);  // no read scope

    rapidjson::Document listed = json(admin.get("/api/v1/tokens"));
    std::set<std::string> names;
    for (const auto& t : listed["items"].GetArray()) {
        names.insert(t["name"].GetString());
        CHECK_FALSE(t.HasMember("token"));
    }
    CHECK(names.count("dashboard") == 1);
    CHECK(admin.del("/api/v1/tokens/dashboard").status == 204);
    check_problem(admin.del("/api/v1/tokens/dashboard"), 404);
    // Revocation reaches every worker within the one-second cache.
    CHECK(wait_until([&] { return reader.get("/api/v1/messages?topic=auth/room/1").status == 401; },
                     std::chrono::seconds(5)));

    HttpClient nobody(api().base);
    for (const std::string path : {"/api/v1/messages", "/api/v1/messages/1", "/api/v1/topics",
                                   "/api/v1/messages/latest?topic=a", "/api/v1/tokens",
                                   "/api/v1/messages/aggregate?topic=a"}) {
        INFO(path);
        HttpReply r = nobody.get(path);
        check_problem(r, 401);
        CHECK(r.has_header("WWW-Authenticate: Bearer"));
    }
    check_problem(nobody.del("/api/v1/messages?topic=a"), 401);
    check_problem(nobody.del("/api/v1/messages/1"), 401);
    check_problem(nobody.del("/api/v1/trash?topic=a"), 401);
    check_problem(nobody.del("/api/v1/trash/1"), 401);
    check_problem(nobody.post_json("/api/v1/messages", "{}"), 401);
    check_problem(nobody.post_json("/api/v1/tokens", "{}"), 401);
    check_problem(nobody.del("/api/v1/tokens/ingest"), 401);
    HttpClient wrong(api().base, "cx_not-a-real-token");
    check_problem(wrong.get("/api/v1/messages"), 401);
    check_problem(wrong.request("GET", "/api/v1/messages", "", {"Authorization: Basic YTpi"}), 401);
    CHECK(nobody.get("/healthz").status == 200);
    CHECK(nobody.get("/readyz").status == 200);
    CHECK(nobody.get("/docs").content_type.rfind("text/html", 0) == 0);
    CHECK(json(nobody.get("/api/v1/openapi.json"))["openapi"].GetString() == std::string("3.0.3"));

    check_problem(admin.post_json("/api/v1/tokens", R"({"name": "x", "scopes": )"), 400);
    check_problem(admin.post_json("/api/v1/tokens", "{\"name\": \"\xff\", \"scopes\": [\"read\"]}"),
                  400);
    check_problem(admin.request("POST", "/api/v1/tokens", R"({"name": "x", "scopes": ["read"]})",
                                {"Content-Type: text/plain"}),
                  415);
    check_problem(admin.post_json("/api/v1/tokens?x=1", R"({"name": "x", "scopes": ["read"]})"),
                  400);
    for (const char* bad :
         {R"({"name": "x", "scopes": ["root"]})", R"({"name": "x", "scopes": []})",
          R"({"name": "", "scopes": ["read"]})", R"({"scopes": ["read"]})",
          R"({"name": "x", "scopes": ["read"], "topic_filters": ["a/#/b"]})",
          R"({"name": "x", "scopes": "read"})",
          R"({"name": "x", "scopes": ["read"], "extra": 1})"}) {
        INFO(bad);
        check_problem(admin.post_json("/api/v1/tokens", bad), 400);
    }
}

TEST_CASE("bad input gets a problem answer on every endpoint and changes nothing", "[http]") {
    HttpClient http(api().base, kAdminToken);
    auto db = cluster().connect(api().db);
    const int64_t kept = insert(http, "bad/keep", "{\"v\": 1}", kBase);
    const std::string before = query_value(*db, "SELECT count(*) FROM culex.message_store");

    // Query strings.
    for (const std::string q : {"limit=0",
                                "limit=1001",
                                "limit=ten",
                                "order=up",
                                "cursor=zzz",
                                "cursor=czE",
                                "filter=a%2F%23%2Fb",
                                "filter=a%2Bb",
                                "topic=a%2F%2B",
                                "topic=a&filter=b",
                                "topic=%FF",
                                "topic=a%00b",
                                "after=yesterday",
                                "before=2026-13-01T00:00:00Z",
                                "qos=3",
                                "retain=maybe",
                                "where=temp",
                                "where=temp%3E",
                                "where=temp%3D%3E3",
                                "where=a..b%3D1",
                                "where=x%3C%7B%7D",
                                "bogus=1",
                                "topic=a&topic=b",
                                "%zz=1",
                                "contains=",
                                "like=abc%5C"}) {
        INFO(q);
        check_problem(http.get("/api/v1/messages?" + q), 400);
        check_problem(http.del("/api/v1/messages?" + q), 400);
        check_problem(http.del("/api/v1/trash?" + q), 400);
        check_problem(http.get("/api/v1/messages/latest?" + q), 400);
        check_problem(http.get("/api/v1/messages/aggregate?" + q), 400);
        check_problem(http.get("/api/v1/topics?" + q), 400);
    }
    check_problem(http.get("/api/v1/topics?filter=%23%2Fa"), 400);
    check_problem(http.get("/api/v1/topics?cursor=abc"), 400);
    check_problem(http.get("/api/v1/topics?limit=-1"), 400);
    for (const std::string id : {"0", "-1", "abc", "1.5", "99999999999999999999", "%zz"}) {
        INFO(id);
        check_problem(http.get("/api/v1/messages/" + id), 400);
        check_problem(http.del("/api/v1/messages/" + id), 400);
        check_problem(http.del("/api/v1/trash/" + id), 400);
    }
    check_problem(http.get("/api/v1/messages/1?extra=1"), 400);
    check_problem(http.get("/api/v1/messages/999999999"), 404);
    check_problem(http.get("/api/v1/nothing"), 404);
    check_problem(http.request("PUT", "/api/v1/messages", "", {}), 405);
    check_problem(http.request("PATCH", "/healthz", "", {}), 405);

    // Bodies.
    const std::string long_topic(65536, 'a');
    for (const std::string& body : std::vector<std::string>{
             std::string("{\"topic\":"),
             std::string("[]"),
             std::string("\"text\""),
             std::string("{\"topic\": 5, \"payload\": \"x\"}"),
             std::string("{\"payload\": \"x\"}"),
             std::string("{\"topic\": \"a/+\", \"payload\": \"x\"}"),
             std::string("{\"topic\": \"\", \"payload\": \"x\"}"),
             "{\"topic\": \"" + long_topic + "\", \"payload\": \"x\"}",
             std::string("{\"topic\": \"a\"}"),
             std::string("{\"topic\": \"a\", \"payload\": \"x\", \"payload_base64\": \"eA==\"}"),
             std::string("{\"topic\": \"a\", \"payload\": 5}"),
             std::string("{\"topic\": \"a\", \"payload_base64\": \"not base64\"}"),
             std::string("{\"topic\": \"a\", \"payload\": \"x\", \"qos\": 3}"),
             std::string("{\"topic\": \"a\", \"payload\": \"x\", \"retain\": \"yes\"}"),
             std::string("{\"topic\": \"a\", \"payload\": \"x\", \"time\": \"noon\"}"),
             std::string("{\"topic\": \"a\", \"payload\": \"x\", \"time\": -5}"),
             std::string("{\"topic\": \"a\", \"payload\": \"x\", \"unknown\": 1}"),
             std::string("{\"topic\": \"a\", \"payload\": \"\xff\"}"),
             std::string("{\"topic\": \"a\\u0000b\", \"payload\": \"x\"}"),
             std::string(100000, '[')}) {
        INFO(body.substr(0, 80));
        check_problem(http.post_json("/api/v1/messages", body), 400);
    }
    check_problem(http.request("POST", "/api/v1/messages", "{\"topic\":\"a\",\"payload\":\"x\"}",
                               {"Content-Type: text/plain"}),
                  415);
    const std::string huge =
        "{\"topic\": \"a\", \"payload\": \"" + std::string(1100000, 'x') + "\"}";
    check_problem(http.post_json("/api/v1/messages", huge), 413);
    check_problem(http.request("POST", "/api/v1/messages", huge,
                               {"Content-Type: application/json", "Transfer-Encoding: chunked"}),
                  413);
    CHECK(query_value(*db, "SELECT count(*) FROM culex.message_store") == before);

    // SQL in every parameter is data: it finds nothing and changes nothing.
    const std::string sql = url_encode("x' OR '1'='1'; DROP TABLE culex.message_store; --");
    for (const std::string name : {"topic", "filter", "contains", "like", "client_id"}) {
        INFO(name);
        HttpReply r = http.get("/api/v1/messages?" + name + "=" + sql);
        REQUIRE(r.status == 200);
        CHECK(json(r)["items"].Size() == 0);
        CHECK(json(http.del("/api/v1/messages?" + name + "=" + sql))["matched"].GetInt() == 0);
    }
    CHECK(http.get("/api/v1/messages?where=" + url_encode("v=x' OR 1=1 --")).status == 200);
    check_problem(http.get("/api/v1/messages?where=" + url_encode("v' OR 1=1 --=1")), 400);
    check_problem(http.get("/api/v1/messages?order=" + sql), 400);
    check_problem(http.get("/api/v1/messages?limit=" + sql), 400);
    check_problem(http.get("/api/v1/messages?cursor=" + sql), 400);
    check_problem(http.get("/api/v1/messages/1" + sql), 400);
    check_problem(http.del("/api/v1/tokens/" + sql), 404);
    CHECK(query_value(*db, "SELECT count(*) FROM culex.message_store") == before);
    CHECK(http.get("/api/v1/messages/" + std::to_string(kept)).status == 200);

    // The broker still takes and stores MQTT traffic.
    MqttClient device(api().broker.port(), "after-bad-input");
    device.publish("bad/after", "still here", 1);
    REQUIRE(device.wait_acked());
    CHECK(wait_until([&] { return all_ids(http, "topic=bad/after").size() == 1; },
                     std::chrono::seconds(30)));
}

TEST_CASE("readiness and reads follow the database; liveness does not", "[http]") {
    HttpClient http(api().base, kAdminToken);
    insert(http, "ready/a", "1", kBase);
    {
        PgCluster::Outage outage(cluster());
        CHECK(wait_until([&] { return http.get("/readyz").status == 503; },
                         std::chrono::seconds(30)));
        check_problem(http.get("/readyz"), 503);
        CHECK(http.get("/healthz").status == 200);
        HttpReply read = http.get("/api/v1/messages?topic=ready/a");
        check_problem(read, 503);
        CHECK(read.has_header("Retry-After"));
        check_problem(http.post_json("/api/v1/messages", R"({"topic": "ready/a", "payload": "2"})"),
                      503);
    }
    CHECK(wait_until([&] { return http.get("/readyz").status == 200; }, std::chrono::seconds(30)));
    CHECK(wait_until([&] { return http.get("/api/v1/messages?topic=ready/a").status == 200; },
                     std::chrono::seconds(30)));
    CHECK(all_ids(http, "topic=ready/a").size() == 1);
}

TEST_CASE("HTTPS with a certificate and key; bad HTTP options refuse to start", "[http]") {
    const std::string dir = make_temp_dir("culex-tls");
    REQUIRE(run_command({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                         "-keyout", dir + "/key.pem", "-out", dir + "/cert.pem"},
                        dir + "/openssl.log", "", std::chrono::seconds(60)) == 0);
    // The broker runs as user mosquitto.
    REQUIRE(chmod(dir.c_str(), 0755) == 0);
    REQUIRE(chmod((dir + "/key.pem").c_str(), 0644) == 0);
    const std::string db = cluster().create_database();
    const int port = free_port();
    BrokerProcess broker(plugin_opts_for(db, {{"http_listen", "127.0.0.1:" + std::to_string(port)},
                                              {"http_tls_cert", dir + "/cert.pem"},
                                              {"http_tls_key", dir + "/key.pem"},
                                              {"admin_token", kAdminToken}}));
    REQUIRE(broker.wait_ready());
    HttpClient https("https://127.0.0.1:" + std::to_string(port), kAdminToken);
    https.set_ca_file(dir + "/cert.pem");
    CHECK(wait_until([&] { return https.get("/readyz").status == 200; }, std::chrono::seconds(30)));
    CHECK(https.get("/api/v1/messages").status == 200);
    HttpClient plain("http://127.0.0.1:" + std::to_string(port));
    CHECK(plain.get("/healthz").status != 200);

    struct Case {
        PluginOpts opts;
        std::string message;
    };
    const std::vector<Case> cases = {
        {{{"http_listen", "localhost:80"}}, "plugin_opt_http_listen: expected an IPv4 address"},
        {{{"http_listen", "127.0.0.1:" + std::to_string(port)}},
         "plugin_opt_http_listen: cannot serve HTTP"},
        {{{"http_tls_cert", dir + "/cert.pem"}}, "plugin_opt_http_tls_key: HTTPS needs both"},
        {{{"http_tls_cert", dir + "/missing.pem"}}, "plugin_opt_http_tls_cert: cannot read file"},
        {{{"http_tls_cert", dir + "/key.pem"}, {"http_tls_key", dir + "/key.pem"}},
         "plugin_opt_http_tls_cert: cannot load certificate"},
        {{{"admin_token", "short"}}, "plugin_opt_admin_token: the admin token must be 16"},
        {{{"http_threads", "1"}}, "plugin_opt_http_threads: expected an integer from 2"},
        {{{"http_max_body", "1"}}, "plugin_opt_http_max_body: expected a size from 1k"},
    };
    for (const Case& c : cases) {
        INFO(c.message);
        BrokerProcess refused(plugin_opts_for(db, c.opts));
        CHECK_FALSE(refused.wait_ready());
        CHECK(refused.log().find(c.message) != std::string::npos);
    }
}

TEST_CASE("/metrics reports ingest and HTTP in the Prometheus format", "[http]") {
    ApiBroker& a = api();
    HttpClient http(a.base, kAdminToken);
    auto value_of = [&](const std::string& text, const std::string& sample) {
        const size_t at = text.find("\n" + sample + " ");
        return at == std::string::npos ? -1.0 : std::stod(text.substr(at + sample.size() + 2));
    };
    HttpReply before = http.get("/metrics");
    REQUIRE(before.status == 200);
    CHECK(before.content_type.rfind("text/plain; version=0.0.4", 0) == 0);
    const double stored = value_of(before.body, "culex_messages_stored_total");
    REQUIRE(stored >= 0);
    CHECK(value_of(before.body, "culex_database_up") == 1);
    CHECK(value_of(before.body, "culex_messages_dropped_total{cause=\"queue_full\"}") == 0);
    CHECK(before.body.find("# TYPE culex_commit_seconds histogram") != std::string::npos);
    CHECK(before.body.find("culex_batch_rows_bucket{le=\"+Inf\"}") != std::string::npos);

    MqttClient device(a.broker.port(), "metrics-device");
    for (int i = 0; i < 25; ++i)
        device.publish("metrics/x", std::to_string(i), 1);
    REQUIRE(device.wait_acked());
    CHECK(wait_until(
        [&] {
            return value_of(http.get("/metrics").body, "culex_messages_stored_total") >=
                   stored + 25;
        },
        std::chrono::seconds(30)));
    http.get("/api/v1/messages?topic=metrics/x");
    http.get("/api/v1/messages?limit=0");
    const std::string after = http.get("/metrics").body;
    CHECK(value_of(after,
                   "culex_http_requests_total{method=\"GET\",route=\"/api/v1/messages\","
                   "status=\"200\"}") >= 1);
    CHECK(value_of(after,
                   "culex_http_requests_total{method=\"GET\",route=\"/api/v1/messages\","
                   "status=\"400\"}") >= 1);
    CHECK(after.find(
              "culex_http_request_duration_seconds_bucket{method=\"GET\",route=\"/metrics\"") !=
          std::string::npos);
    HttpClient nobody(a.base);
    check_problem(nobody.get("/metrics"), 401);
}

TEST_CASE("an API statement past http_statement_timeout_ms is cancelled: 503, connection kept",
          "[http]") {
    ApiBroker slow("slow-admin-token-0123456789",
                   {{"http_statement_timeout_ms", "300"}, {"http_db_connections", "1"}});
    HttpClient http(slow.base, "slow-admin-token-0123456789");
    REQUIRE(http.post_json("/api/v1/messages", R"({"topic": "slow/t", "payload": "p"})").status ==
            201);
    // A deliberately slow statement: the read waits behind a lock this test holds.
    auto db = cluster().connect(slow.db);
    REQUIRE(db->exec("BEGIN").ok());
    REQUIRE(db->exec("LOCK TABLE culex.message_store IN ACCESS EXCLUSIVE MODE").ok());
    HttpReply cancelled = http.get("/api/v1/messages?topic=slow/t");
    INFO(cancelled.body);
    CHECK(cancelled.status == 503);
    CHECK(cancelled.content_type == "application/problem+json");
    CHECK(cancelled.body.find("plugin_opt_http_statement_timeout_ms (300 ms)") != std::string::npos);
    REQUIRE(db->exec("ROLLBACK").ok());
    // The pool's only connection survived the cancel and serves the next request.
    HttpReply after = http.get("/api/v1/messages?topic=slow/t");
    CHECK(after.status == 200);
    CHECK(json(after)["items"].Size() == 1);
    CHECK(slow.broker.log().find("HTTP API query failed") == std::string::npos);
}
