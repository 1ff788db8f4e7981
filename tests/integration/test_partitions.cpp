// Time partitions and retention against a real broker and PostgreSQL: the migration of a
// database written before partitions (rows, ids and files kept), partitions made ahead
// and on demand, reads by id that touch one partition, retention by partition, by topic
// and of the trash, one broker at a time, and GET /api/v1/storage.
#include <rapidjson/document.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "common/clock.h"
#include "common/time_text.h"
#include "storage/message_ids.h"
#include "storage/message_reads.h"
#include "storage/message_sql.h"
#include "storage/migrations.h"
#include "storage/pg_connection.h"
#include "support/api_broker.h"
#include "support/fixture.h"
#include "support/http_client.h"
#include "support/mqtt_client.h"
#include "support/publisher.h"

using namespace culex;
using namespace culex::test;
using std::chrono::seconds;

namespace {

constexpr const char* kToken = "partitions-admin-token-0123456789";
constexpr int64_t kHourUs = int64_t{3600} * 1000000;
constexpr int64_t kDayUs = 24 * kHourUs;

// The schema as the release before partitions left it: migrations 0001 to 0005.
void apply_release_before_partitions(PgConnection& db) {
    REQUIRE(db.exec("CREATE SCHEMA culex").ok());
    REQUIRE(db.exec("CREATE TABLE culex.schema_migrations (version integer PRIMARY KEY,"
                    " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
                .ok());
    for (size_t i = 0; i < kMigrationCount && kMigrations[i].version <= 5; ++i) {
        REQUIRE(db.exec_script(kMigrations[i].sql).ok());
        REQUIRE(db.exec("INSERT INTO culex.schema_migrations (version, name) VALUES ($1, $2)",
                        {std::to_string(kMigrations[i].version), kMigrations[i].name})
                    .ok());
    }
}

// Every row with everything it holds, as one digest.
std::string digest_of_rows(PgConnection& db) {
    return query_value(
        db,
        "SELECT md5(string_agg(concat_ws('|', m.id, t.name, encode(m.payload, 'hex'),"
        " m.payload_json, m.qos, m.retain, m.client_id, m.username, m.broker_id,"
        " m.seq, m.received_at, m.deleted_at), E'\\n' ORDER BY m.id))"
        " FROM culex.message_store m JOIN culex.topics t ON t.id = m.topic_id");
}

bool schema_current(PgConnection& db) {
    return query_value(db, "SELECT count(*) FROM culex.schema_migrations") ==
           std::to_string(kMigrationCount);
}

std::string time_text(int64_t us) {
    return format_rfc3339_us(us);
}

// Inserts over HTTP a record received at `us`; its id.
int64_t insert_at(HttpClient& http, const std::string& topic, int64_t us,
                  const std::string& payload = "x") {
    HttpReply reply =
        http.post_json("/api/v1/messages", "{\"topic\":\"" + topic + "\",\"payload\":\"" + payload +
                                               "\",\"time\":\"" + time_text(us) + "\"}");
    INFO(reply.body);
    REQUIRE(reply.status == 201);
    return json(reply)["id"].GetInt64();
}

long count_where(PgConnection& db, const std::string& condition) {
    return std::stol(query_value(db, ("SELECT count(*) FROM culex.message_store m JOIN"
                                      " culex.topics t ON t.id = m.topic_id WHERE " +
                                      condition)
                                         .c_str()));
}

// The value of an unlabelled (or exactly labelled) sample in a /metrics page.
double metric(HttpClient& http, const std::string& sample) {
    const std::string page = http.get("/metrics").body;
    const size_t at = page.find("\n" + sample + " ");
    if (at == std::string::npos)
        return -1;
    return std::stod(page.substr(at + sample.size() + 2));
}

// Stores `rows` messages on (registered) `topic` in one statement, received within the
// hour that began two to three hours ago, with ids reserved as the writer does.
void bulk_insert(PgConnection& db, const std::string& topic, int rows) {
    REQUIRE(db.exec("WITH h AS (SELECT date_bin('1 hour', now() - interval '2 hours', 'epoch')"
                    " AS start), r AS (SELECT culex.reserve_message_ids((extract(epoch FROM"
                    " h.start) / 3600)::integer, $2::integer) AS first FROM h)"
                    " INSERT INTO culex.message_store (id, topic_id, payload, qos, retain,"
                    " client_id, broker_id, seq, received_at)"
                    " SELECT r.first + g - 1, t.id, 'old', 0, false, 'bulk', 1, 0,"
                    " h.start + g * interval '1 ms' FROM h, r, culex.topics t,"
                    " generate_series(1, $2::integer) g WHERE t.name = $1",
                    {topic, std::to_string(rows)})
                .ok());
}

// Every (receive time, id) a series query returns, page by page through its cursors.
std::vector<std::pair<int64_t, int64_t>> walk_pages(HttpClient& http, const std::string& query) {
    std::vector<std::pair<int64_t, int64_t>> seen;
    std::string cursor;
    for (int page = 0; page < 1000; ++page) {
        HttpReply reply = http.get(query + (cursor.empty() ? "" : "&cursor=" + cursor));
        INFO(reply.body.substr(0, 500));
        REQUIRE(reply.status == 200);
        rapidjson::Document doc = json(reply);
        for (const auto& r : doc["items"].GetArray())
            seen.emplace_back(parse_time_us(r["received_at"].GetString()).value(),
                              r["id"].GetInt64());
        if (doc["next_cursor"].IsNull())
            break;
        cursor = doc["next_cursor"].GetString();
    }
    return seen;
}

// Daily partitions for each of the `days` days before today.
void make_past_days(PgConnection& db, int days) {
    REQUIRE(db.exec("SELECT culex.create_message_partition(now() - g * interval '1 day', 24)"
                    " FROM generate_series(1, $1::integer) g",
                    {std::to_string(days)})
                .ok());
}

// Whether the broker's log shows `line` within a few seconds (other threads' lines
// reach it through the broker thread).
bool logged(ApiBroker& api, const std::string& line) {
    return wait_until([&] { return api.broker.log().find(line) != std::string::npos; },
                      seconds(10));
}

}  // namespace

TEST_CASE("a database of the release before partitions keeps every row, id and file",
          "[partitions]") {
    const std::string dbname = cluster().create_database();
    auto db = cluster().connect(dbname);
    apply_release_before_partitions(*db);
    REQUIRE(db->exec("INSERT INTO culex.brokers (name) VALUES ('old-broker')").ok());
    REQUIRE(db->exec("INSERT INTO culex.topics (name) VALUES ('legacy/a'), ('legacy/b')").ok());
    // Three days of rows, binary and JSON payloads, some soft-deleted.
    REQUIRE(
        db->exec("INSERT INTO culex.message_store (topic_id, payload, payload_json, qos,"
                 " retain, client_id, username, broker_id, seq, received_at)"
                 " SELECT 1 + g % 2, CASE WHEN g % 3 = 0 THEN '\\x00ff'::bytea || g::text::bytea"
                 " ELSE convert_to('{\"n\":' || g || '}', 'UTF8') END,"
                 " CASE WHEN g % 3 <> 0 THEN ('{\"n\":' || g || '}')::jsonb END, g % 3,"
                 " g % 5 = 0, 'dev-' || g % 7, CASE WHEN g % 2 = 0 THEN 'user' END, 1, g,"
                 " now() - g * interval '1 minute' FROM generate_series(1, 4320) g")
            .ok());
    REQUIRE(db->exec("UPDATE culex.message_store SET deleted_at = now() WHERE id % 10 = 0").ok());
    const std::string before = digest_of_rows(*db);
    const std::string file_before = query_value(
        *db, "SELECT relfilenode FROM pg_class WHERE oid = 'culex.message_store'::regclass");
    const std::string max_id = query_value(*db, "SELECT max(id) FROM culex.message_store");
    // What a concurrent build interrupted leaves: an invalid index of the name the
    // maintenance gives the old table's part (it follows the table's rename).
    CHECK_FALSE(db->exec("CREATE UNIQUE INDEX CONCURRENTLY message_store_before_time"
                         " ON culex.message_store (qos)")
                    .ok());
    REQUIRE(query_value(*db,
                        "SELECT indisvalid FROM pg_index"
                        " WHERE indexrelid = 'culex.message_store_before_time'::regclass") == "f");

    ApiBroker api(kToken, {}, dbname);
    REQUIRE(wait_until([&] { return schema_current(*db); }, seconds(30)));
    HttpClient http(api.base, kToken);

    CHECK(digest_of_rows(*db) == before);
    // The old table is the first partition, the same file on disk: nothing was rewritten.
    CHECK(query_value(*db,
                      "SELECT relfilenode FROM pg_class"
                      " WHERE oid = 'culex.message_store_before'::regclass") == file_before);
    CHECK(query_value(*db,
                      "SELECT range_from FROM culex.message_partitions"
                      " WHERE name = 'message_store_before'") == "-infinity");
    CHECK(query_value(*db,
                      "SELECT relkind FROM pg_class"
                      " WHERE oid = 'culex.message_store'::regclass") == "p");
    CHECK(query_value(*db,
                      "SELECT count(*) FROM pg_constraint WHERE conrelid ="
                      " 'culex.message_store_before'::regclass AND contype = 'c'") == "0");

    // Old ids read and delete through the API and the book's routes.
    HttpReply first = http.get("/api/v1/messages/1");
    REQUIRE(first.status == 200);
    CHECK(json(first)["topic"].GetString() == std::string("legacy/b"));
    CHECK(json(first)["payload"].GetString() == std::string("{\"n\":1}"));
    CHECK(http.get("/api/v1/messages/" + std::to_string(std::stoll(max_id) - 1)).status == 200);
    CHECK(http.get("/api/v1/messages/10").status == 404);  // soft-deleted before
    CHECK(json(http.del("/api/v1/messages/7"))["deleted"].GetInt() == 1);
    CHECK(json(http.get("/delete/legacy%2Fa/id/8"))["changed"].GetInt() == 1);
    CHECK(http.get("/api/v1/messages/7").status == 404);
    CHECK(json(http.get("/api/v1/messages?topic=legacy/a&limit=1"))["items"][0]["id"].GetInt64() ==
          2);

    // New messages get time-ordered ids: the hour of their receive time, then a number.
    MqttClient device(api.broker.port(), "migrated-device");
    device.publish("legacy/a", "new", 1);
    REQUIRE(device.wait_acked());
    REQUIRE(wait_until([&] { return count_where(*db, "m.payload = 'new'") == 1; }, seconds(20)));
    const int64_t id = std::stoll(query_value(*db,
                                              "SELECT id FROM culex.message_store"
                                              " WHERE payload = 'new'"));
    const int64_t received_us =
        std::stoll(query_value(*db,
                               "SELECT (extract(epoch FROM received_at) * 1000000)::bigint"
                               " FROM culex.message_store WHERE payload = 'new'"));
    CHECK((id >> kMessageIdHourBits) == message_id_hour(received_us));
    CHECK(id > std::stoll(max_id));
    HttpReply fresh = http.get("/api/v1/messages/" + std::to_string(id));
    REQUIRE(fresh.status == 200);
    CHECK(json(fresh)["payload"].GetString() == std::string("new"));
    // A series through the old table and the new partitions together (one statement
    // over both: their columns need not be in the same order).
    CHECK(walk_pages(http, "/api/v1/messages?topic=legacy/a&limit=1000").size() ==
          static_cast<size_t>(count_where(*db, "t.name = 'legacy/a' AND m.deleted_at IS NULL")));
    // Writers of the release before are refused with a retryable error, not given rows
    // that no read by id finds.
    PgOutcome old_writer = db->exec(
        "INSERT INTO culex.message_store (topic_id, payload, qos, retain, client_id,"
        " broker_id, seq, received_at) VALUES (1, 'x', 0, false, 'c', 1, 1, now())");
    CHECK(old_writer.error == PgErrorKind::kOther);
    CHECK(old_writer.message.find("upgrade this Culex broker") != std::string::npos);

    // The time index (migration 0008) was made on the partitioned table only; the
    // maintenance builds the old table's part concurrently, past the remains of a build
    // that failed, and attaches it.
    REQUIRE(wait_until([&] { return metric(http, "culex_time_index_partitions_pending") == 0; },
                       seconds(30)));
    CHECK(query_value(*db,
                      "SELECT indisvalid FROM pg_index"
                      " WHERE indexrelid = 'culex.message_store_time'::regclass") == "t");
    CHECK(query_value(*db,
                      "SELECT count(*) FROM pg_inherits i JOIN pg_index x ON x.indexrelid ="
                      " i.inhrelid WHERE i.inhparent = 'culex.message_store_time'::regclass"
                      " AND x.indrelid = 'culex.message_store_before'::regclass"
                      " AND x.indisvalid") == "1");
    CHECK(logged(api, "built the time index of partition culex.message_store_before"));
    CHECK(walk_pages(http, "/api/v1/messages?filter=legacy/%2B&limit=1000").size() ==
          static_cast<size_t>(count_where(*db, "m.deleted_at IS NULL")));
}

TEST_CASE("partitions are made ahead, on demand for any time, and clipped to neighbours",
          "[partitions]") {
    ApiBroker api(kToken, {{"partition_interval", "1h"}, {"maintenance_interval", "1s"}});
    auto db = cluster().connect(api.db);
    HttpClient http(api.base, kToken);
    const int64_t now = wall_clock_us();
    // The current hour and three ahead, each one hour wide on the hour.
    REQUIRE(wait_until(
        [&] {
            return query_value(*db,
                               "SELECT count(*) FROM culex.message_partitions WHERE"
                               " range_from <= now() + interval '3 hours' AND"
                               " range_to > now() + interval '3 hours'") == "1";
        },
        seconds(30)));
    CHECK(query_value(*db,
                      "SELECT count(*) FROM culex.message_partitions WHERE"
                      " range_to - range_from <> interval '1 hour'") == "0");
    CHECK(query_value(*db,
                      "SELECT count(*) FROM culex.message_partitions WHERE"
                      " range_from <= now() AND range_to > now()") == "1");
    CHECK(query_value(*db,
                      "SELECT count(*) FROM culex.message_partitions WHERE"
                      " range_from <= now() + interval '3 hours' AND"
                      " range_to > now() + interval '3 hours'") == "1");
    CHECK(query_value(*db,
                      "SELECT count(*) FROM culex.message_partitions WHERE"
                      " extract(epoch FROM range_from)::bigint % 3600 <> 0") == "0");

    // A record 400 days old gets its own partition; it reads back by id.
    const int64_t old_us = now - 400 * kDayUs;
    const int64_t old_id = insert_at(http, "late/x", old_us, "old");
    CHECK((old_id >> kMessageIdHourBits) == message_id_hour(old_us));
    CHECK(json(http.get("/api/v1/messages/" + std::to_string(old_id)))["payload"].GetString() ==
          std::string("old"));
    CHECK(query_value(*db,
                      "SELECT range_to - range_from FROM culex.message_partitions WHERE"
                      " range_from <= to_timestamp($1::bigint / 1e6) AND"
                      " range_to > to_timestamp($1::bigint / 1e6)",
                      {std::to_string(old_us)}) == "01:00:00");
    // The earliest time an id can name, and one microsecond before it.
    CHECK(insert_at(http, "late/x", kFirstRecordHourUs) >> kMessageIdHourBits == 1);
    HttpReply too_early = http.post_json(
        "/api/v1/messages",
        "{\"topic\":\"late/x\",\"payload\":\"x\",\"time\":\"1970-01-01T00:59:59.999999Z\"}");
    CHECK(too_early.status == 400);
    CHECK(too_early.body.find("1970-01-01T01:00:00Z or later") != std::string::npos);

    // A new width meets partitions of the old one: the new partition fills the gap only.
    const std::string day =
        query_value(*db, "SELECT date_bin('1 day', now() + interval '20 days', 'epoch')::text");
    auto make = [&](const char* offset, int hours) {
        return query_value(*db,
                           "SELECT culex.create_message_partition($1::timestamptz + $2::interval,"
                           " $3::integer)",
                           {day, offset, std::to_string(hours)});
    };
    auto range_at = [&](const char* offset) {
        return query_value(*db,
                           "SELECT (range_from - $1::timestamptz)::text || '..' ||"
                           " (range_to - $1::timestamptz)::text FROM culex.message_partitions"
                           " WHERE range_from <= $1::timestamptz + $2::interval AND"
                           " range_to > $1::timestamptz + $2::interval",
                           {day, offset});
    };
    REQUIRE(make("12 hours", 1) != "");
    REQUIRE(make("1 hour", 24) != "");
    REQUIRE(make("20 hours", 24) != "");
    CHECK(make("12 hours 30 minutes", 24) == "");  // already has one
    CHECK(range_at("1 hour") == "00:00:00..12:00:00");
    CHECK(range_at("12 hours") == "12:00:00..13:00:00");
    CHECK(range_at("20 hours") == "13:00:00..1 day");
}

TEST_CASE("a partition dropped under the writer is made again; no message is lost",
          "[partitions]") {
    ApiBroker api(kToken);
    auto db = cluster().connect(api.db);
    MqttClient device(api.broker.port(), "dropped-under");
    device.publish("under/x", "first", 1);
    REQUIRE(device.wait_acked());
    REQUIRE(wait_stored(*db, 1, seconds(20)));
    const std::string partition =
        query_value(*db,
                    "SELECT partition FROM culex.message_partitions WHERE range_from <= now() AND"
                    " range_to > now()");
    REQUIRE(db->exec(("DROP TABLE " + partition).c_str()).ok());
    for (int i = 0; i < 100; ++i)
        device.publish("under/x", "m" + std::to_string(i), 1);
    REQUIRE(device.wait_acked());
    REQUIRE(wait_stored(*db, 100, seconds(30)));
    CHECK(stored_count(*db) == 100);
    CHECK(logged(api, "created partition"));
    CHECK(api.broker.log().find("not stored") == std::string::npos);
}

TEST_CASE("a read by id with 365 partitions plans and reads one of them", "[partitions]") {
    ApiBroker api(kToken);
    auto db = cluster().connect(api.db);
    HttpClient http(api.base, kToken);
    make_past_days(*db, 365);
    REQUIRE(std::stoi(query_value(*db, "SELECT count(*) FROM culex.message_partitions")) >= 365);
    const int64_t us = wall_clock_us() - 200 * kDayUs;
    const int64_t id = insert_at(http, "many/x", us, "two hundred days");
    CHECK(json(http.get("/api/v1/messages/" + std::to_string(id)))["payload"].GetString() ==
          std::string("two hundred days"));
    // The API's own condition, planned with a constant and with a parameter.
    const std::string sql = "EXPLAIN (COSTS OFF) SELECT * FROM culex.message_store m WHERE " +
                            record_id_sql("m", "$1::bigint");
    PgOutcome plan = db->exec(sql.c_str(), {std::to_string(id)});
    REQUIRE(plan.ok());
    std::string text;
    for (int i = 0; i < PQntuples(plan.result.get()); ++i)
        text += std::string(PQgetvalue(plan.result.get(), i, 0)) + "\n";
    INFO(text);
    size_t scans = 0;
    for (size_t at = text.find(" on message_store_"); at != std::string::npos;
         at = text.find(" on message_store_", at + 1))
        ++scans;
    CHECK(scans == 1);
    CHECK(json(http.del("/api/v1/messages/" + std::to_string(id)))["deleted"].GetInt() == 1);
    CHECK(json(http.del("/api/v1/trash/" + std::to_string(id)))["purged"].GetInt() == 1);
    CHECK(count_where(*db, "true") == 0);
}

TEST_CASE("finding the ids of stored messages by receive time opens only their partitions",
          "[partitions]") {
    // The rule matcher's lookup when a replayed batch's ids are not known.
    ApiBroker api(kToken);
    auto db = cluster().connect(api.db);
    HttpClient http(api.base, kToken);
    make_past_days(*db, 365);
    const int64_t old_us = wall_clock_us() - 200 * kDayUs;
    const int64_t older_us = old_us - kDayUs - 7;
    const int64_t old_id = insert_at(http, "lookup/a", old_us);
    const int64_t older_id = insert_at(http, "lookup/b", older_us);
    const std::string broker =
        query_value(*db, ("SELECT b.name FROM culex.message_store m JOIN culex.brokers b ON b.id ="
                          " m.broker_id WHERE m.id = " +
                          std::to_string(old_id))
                             .c_str());
    Message a, b, missing;
    a.topic = "lookup/a";
    a.received_us = old_us;
    b.topic = "lookup/b";
    b.received_us = older_us;
    missing.topic = "lookup/a";
    missing.received_us = old_us + 1;
    REQUIRE(db->exec("BEGIN").ok());
    std::vector<int64_t> ids;
    REQUIRE(read_record_ids(*db, broker, {&a, &missing, &b}, ids).ok());
    CHECK(ids == std::vector<int64_t>{old_id, 0, older_id});
    // Locks taken on partitions' tables stay until the transaction ends: the plan opened
    // the two days' partitions (and the one between them), not the other 363.
    const long opened =
        std::stol(query_value(*db,
                              "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid ="
                              " l.relation WHERE l.pid = pg_backend_pid() AND c.relkind = 'r'"
                              " AND c.relname LIKE 'message\\_store\\_%'"));
    CHECK(opened >= 2);
    CHECK(opened <= 3);
    REQUIRE(db->exec("ROLLBACK").ok());
    std::vector<int64_t> none;
    REQUIRE(read_record_ids(*db, broker, {}, none).ok());
    CHECK(none.empty());
}

TEST_CASE("a connection keeps its most recently used statements prepared, within its bound",
          "[partitions][prepared]") {
    // Reads name partitions, so a long-running broker meets ever new statements: the
    // newest must still be prepared once the cache is full.
    auto db = cluster().connect(cluster().create_database());
    const auto statement = [](size_t i) { return "SELECT $1::int + " + std::to_string(i); };
    const auto run = [&](size_t i) {
        PgOutcome outcome = db->exec_prepared(statement(i), {"1"});
        REQUIRE(outcome.ok());
        CHECK(pg_value(outcome.result.get(), 0, 0) == std::to_string(i + 1));
    };
    const size_t total = PgConnection::kMaxPrepared + 40;
    for (size_t i = 0; i < total; ++i) {
        run(i);
        run(0);  // kept recent, so never the one to go
    }
    const auto prepared = [&](const std::string& condition) {
        return query_value(
            *db, ("SELECT count(*) FROM pg_prepared_statements WHERE " + condition).c_str());
    };
    const auto count = std::stoul(prepared("true"));
    CHECK(count <= PgConnection::kMaxPrepared);
    CHECK(count > PgConnection::kMaxPrepared - PgConnection::kEvictedAtOnce);
    CHECK(prepared("statement = '" + statement(0) + "'") == "1");
    CHECK(prepared("statement = '" + statement(total - 1) + "'") == "1");
    CHECK(prepared("statement = '" + statement(1) + "'") == "0");
    run(1);  // prepared again
    CHECK(prepared("statement = '" + statement(1) + "'") == "1");
}

TEST_CASE("retention drops partitions wholly older than it, and only those",
          "[partitions][retention]") {
    ApiBroker api(kToken, {{"retention", "2d"}, {"maintenance_interval", "1s"}});
    auto db = cluster().connect(api.db);
    HttpClient http(api.base, kToken);
    const int64_t now = wall_clock_us();
    const int64_t cutoff = now - 2 * kDayUs;
    const int64_t cutoff_day = cutoff - cutoff % kDayUs;
    // The partition of cutoff_day - 1 us ends at cutoff_day, before the cutoff: dropped.
    // The one of the cutoff itself ends after it: kept, though part of it is older.
    insert_at(http, "ret/x", now - 10 * kDayUs, "ten days");
    insert_at(http, "ret/x", cutoff_day - 1, "just older");
    insert_at(http, "ret/x", cutoff + 1000000, "just younger");
    insert_at(http, "ret/x", cutoff_day, "start of the kept day");
    insert_at(http, "ret/x", now, "now");
    REQUIRE(wait_until([&] { return count_where(*db, "true") == 3; }, seconds(30)));
    std::set<std::string> left;
    PgOutcome rows = db->exec("SELECT convert_from(payload, 'UTF8') FROM culex.message_store");
    REQUIRE(rows.ok());
    for (int i = 0; i < PQntuples(rows.result.get()); ++i)
        left.insert(PQgetvalue(rows.result.get(), i, 0));
    CHECK(left == std::set<std::string>{"just younger", "start of the kept day", "now"});
    CHECK(query_value(*db,
                      "SELECT count(*) FROM culex.message_partitions WHERE range_to <="
                      " to_timestamp($1::bigint / 1e6)",
                      {std::to_string(cutoff)}) == "0");
    REQUIRE(wait_until([&] { return metric(http, "culex_partitions_dropped_total") >= 2; },
                       seconds(10)));
    CHECK(metric(http, "culex_retention_rows_deleted_total{rule=\"retention\"}") == 2);
    CHECK(logged(api, "retention dropped partition culex.message_store_"));
    // The id counters of the dropped hours went with them.
    CHECK(query_value(*db,
                      "SELECT count(*) FROM culex.message_id_blocks WHERE hour <"
                      " $1::integer",
                      {std::to_string(message_id_hour(cutoff_day))}) == "0");
}

TEST_CASE("retention_topics deletes in batches, past a batch's size, and nothing else",
          "[partitions][retention]") {
    ApiBroker api(kToken, {{"retention_topics", "tmp/# 1h"},
                           {"retention_topics", "tmp/short 10m"},
                           {"maintenance_interval", "1s"}});
    auto db = cluster().connect(api.db);
    HttpClient http(api.base, kToken);
    const int64_t now = wall_clock_us();
    insert_at(http, "tmp/x", now - 2 * kHourUs);  // registers the topics and partitions
    insert_at(http, "tmp/short", now - 20 * 60 * 1000000LL);
    insert_at(http, "other/y", now - 2 * kHourUs);
    // 2.5 batches of old rows in one statement, with ids as the writer makes them.
    bulk_insert(*db, "tmp/x", 25000);
    insert_at(http, "tmp/x", now, "young");
    insert_at(http, "tmp/short", now, "young");
    REQUIRE(wait_until([&] { return count_where(*db, "t.name LIKE 'tmp/%'") == 2; }, seconds(60)));
    CHECK(count_where(*db, "convert_from(m.payload, 'UTF8') = 'young'") == 2);
    CHECK(count_where(*db, "t.name = 'other/y'") == 1);
    CHECK(metric(http, "culex_retention_rows_deleted_total{rule=\"retention_topics\"}") == 25002);
    CHECK(logged(api, "retention deleted"));
}

TEST_CASE("trash_retention purges rows deleted long enough ago", "[partitions][retention]") {
    ApiBroker api(kToken, {{"trash_retention", "1h"}, {"maintenance_interval", "1s"}});
    auto db = cluster().connect(api.db);
    HttpClient http(api.base, kToken);
    std::vector<int64_t> ids;
    for (int i = 0; i < 6; ++i)
        ids.push_back(insert_at(http, "trash/x", wall_clock_us()));
    for (int64_t id : ids)
        REQUIRE(json(http.del("/api/v1/messages/" + std::to_string(id)))["deleted"].GetInt() == 1);
    // Three were deleted two hours ago, one just under an hour ago.
    REQUIRE(db->exec("UPDATE culex.message_store SET deleted_at = now() - interval '2 hours'"
                     " WHERE id = ANY($1::bigint[])",
                     {"{" + std::to_string(ids[0]) + "," + std::to_string(ids[1]) + "," +
                      std::to_string(ids[2]) + "}"})
                .ok());
    REQUIRE(db->exec("UPDATE culex.message_store SET deleted_at = now() - interval '59 minutes'"
                     " WHERE id = $1",
                     {std::to_string(ids[3])})
                .ok());
    REQUIRE(wait_until([&] { return count_where(*db, "true") == 3; }, seconds(30)));
    CHECK(count_where(*db, "m.deleted_at IS NOT NULL") == 3);
    CHECK(metric(http, "culex_retention_rows_deleted_total{rule=\"trash_retention\"}") == 3);
}

TEST_CASE("one broker at a time: a held maintenance lock makes the others skip", "[partitions]") {
    const std::string dbname = cluster().create_database();
    auto holder = cluster().connect(dbname);
    REQUIRE(holder->exec("SELECT pg_advisory_lock(7240117433690218535)").ok());
    ApiBroker api(kToken, {{"maintenance_interval", "1s"}, {"partition_interval", "1h"}}, dbname);
    HttpClient http(api.base, kToken);
    REQUIRE(wait_until(
        [&] {
            return metric(http, "culex_storage_maintenance_runs_total{result=\"skipped\"}") >= 2;
        },
        seconds(30)));
    CHECK(metric(http, "culex_storage_maintenance_runs_total{result=\"done\"}") == 0);
    CHECK(metric(http, "culex_partitions_created_total") == 0);
    REQUIRE(holder->exec("SELECT pg_advisory_unlock(7240117433690218535)").ok());
    REQUIRE(wait_until(
        [&] { return metric(http, "culex_storage_maintenance_runs_total{result=\"done\"}") >= 1; },
        seconds(30)));
    CHECK(metric(http, "culex_partitions_created_total") >= 3);
}

TEST_CASE("retention under 20,000 messages a second loses and duplicates nothing",
          "[partitions][retention]") {
    ApiBroker api(kToken, {{"retention", "1d"},
                           {"retention_topics", "load/old/# 1h"},
                           {"maintenance_interval", "1s"}});
    auto db = cluster().connect(api.db);
    HttpClient http(api.base, kToken);
    const int64_t now = wall_clock_us();
    // Work for the retention while the devices publish: old partitions to drop and
    // old rows of a topic to delete in batches.
    for (int day = 3; day < 8; ++day)
        insert_at(http, "load/old/a", now - day * kDayUs);
    insert_at(http, "load/old/a", now - 2 * kHourUs);
    bulk_insert(*db, "load/old/a", 60000);
    std::vector<std::unique_ptr<Publisher>> devices;
    for (int i = 0; i < 4; ++i)
        devices.push_back(std::make_unique<Publisher>(api.broker.port(), "load/live",
                                                      "dev" + std::to_string(i), 5000, 1));
    REQUIRE(
        wait_until([&] { return count_where(*db, "t.name = 'load/old/a'") == 0; }, seconds(120)));
    REQUIRE(wait_until([&] { return metric(http, "culex_partitions_dropped_total") >= 5; },
                       seconds(60)));
    long sent = 0;
    // At least five seconds of the full rate, retention running all along.
    REQUIRE(wait_until(
        [&] {
            long so_far = 0;
            for (auto& d : devices)
                so_far += d->sent();
            return so_far >= 100000;
        },
        seconds(60)));
    for (auto& d : devices) {
        d->stop();
        sent += d->sent();
    }
    REQUIRE(wait_until([&] { return count_where(*db, "t.name LIKE 'load/live/%'") >= sent; },
                       seconds(120)));
    CHECK(count_where(*db, "t.name LIKE 'load/live/%'") == sent);
    CHECK(std::stol(query_value(*db,
                                "SELECT count(DISTINCT payload) FROM culex.message_store"
                                " WHERE client_id LIKE 'dev%'")) == sent);
    INFO(api.broker.log());
    CHECK(metric(http, "culex_storage_maintenance_errors_total") == 0);
}

TEST_CASE("GET /api/v1/storage: partitions, retention settings, the oldest and newest message",
          "[partitions]") {
    ApiBroker api(kToken, {{"retention", "90d"},
                           {"retention_topics", "debug/# 7d"},
                           {"trash_retention", "30d"},
                           {"maintenance_interval", "1s"}});
    HttpClient http(api.base, kToken);
    const int64_t now = wall_clock_us();
    insert_at(http, "span/x", now - 3 * kDayUs, "oldest");
    insert_at(http, "span/x", now, "newest");
    REQUIRE(wait_until(
        [&] { return json(http.get("/api/v1/storage"))["maintenance"]["runs"].GetUint64() >= 1; },
        seconds(30)));
    rapidjson::Document doc = json(http.get("/api/v1/storage"));
    CHECK(doc["partition_interval"].GetString() == std::string("1d"));
    CHECK(doc["retention"].GetString() == std::string("90d"));
    CHECK(doc["trash_retention"].GetString() == std::string("30d"));
    REQUIRE(doc["retention_topics"].Size() == 1);
    CHECK(doc["retention_topics"][0]["filter"].GetString() == std::string("debug/#"));
    CHECK(doc["retention_topics"][0]["age"].GetString() == std::string("7d"));
    CHECK(doc["oldest_message"].GetString() == time_text(now - 3 * kDayUs));
    CHECK(doc["newest_message"].GetString() == time_text(now));
    CHECK(doc["spool"]["directory"].IsNull());
    CHECK(doc["spool"]["batches"].GetUint64() == 0);
    // The old record's day, then today and three days ahead.
    REQUIRE(doc["partitions"].Size() >= 5);
    for (const auto& p : doc["partitions"].GetArray()) {
        CHECK(std::string(p["name"].GetString()).rfind("culex.message_store_", 0) == 0);
        CHECK(parse_time_us(p["until"].GetString()).value() -
                  parse_time_us(p["from"].GetString()).value() ==
              kDayUs);
        CHECK(p["bytes"].GetInt64() > 0);
    }
    // Admin only.
    HttpReply token = http.post_json(
        "/api/v1/tokens", "{\"name\":\"reader\",\"scopes\":[\"read\"],\"topic_filters\":[\"#\"]}");
    REQUIRE(token.status == 201);
    HttpClient reader(api.base, json(token)["token"].GetString());
    CHECK(reader.get("/api/v1/storage").status == 403);
    CHECK(HttpClient(api.base).get("/api/v1/storage").status == 401);
    CHECK(http.get("/api/v1/storage?x=1").status == 400);
}

TEST_CASE("a series over many partitions, ahead of now included, comes whole and in order",
          "[partitions]") {
    // Reads take partitions in groups of growing size: every group edge must be seamless.
    ApiBroker api(kToken);
    HttpClient http(api.base, kToken);
    const int64_t now = wall_clock_us();
    std::vector<std::pair<int64_t, int64_t>> expected;  // (time, id), oldest first
    for (int day = -2; day <= 30; ++day) {
        if (day % 7 == 3)
            continue;  // some days without a row
        const int64_t at = now - day * kDayUs;
        expected.emplace_back(at, insert_at(http, "groups/x", at));
        if (day % 5 == 0)
            expected.emplace_back(at, insert_at(http, "groups/x", at));  // a tie in time
    }
    insert_at(http, "groups/other", now);
    std::sort(expected.begin(), expected.end());
    for (const std::string order : {"asc", "desc"}) {
        for (const int limit : {1, 3, 1000}) {
            const auto seen =
                walk_pages(http, "/api/v1/messages?topic=groups/x&limit=" + std::to_string(limit) +
                                     "&order=" + order);
            auto want = expected;
            if (order == "desc")
                std::reverse(want.begin(), want.end());
            INFO(order << " " << limit);
            CHECK(seen == want);
        }
    }
}

TEST_CASE("pages walk across partitions, ties on a partition's first instant included",
          "[partitions]") {
    ApiBroker api(kToken);
    HttpClient http(api.base, kToken);
    const int64_t now = wall_clock_us();
    const int64_t midnight = now - now % kDayUs;
    // Two rows at the very first microsecond of today's partition, others on both sides.
    const std::vector<int64_t> times = {midnight - 2 * kDayUs, midnight - 1, midnight, midnight,
                                        midnight + 1,          now};
    std::vector<std::pair<int64_t, int64_t>> expected;  // (time, id), oldest first
    for (int64_t t : times)
        expected.emplace_back(t, insert_at(http, "pages/x", t));
    std::sort(expected.begin(), expected.end());
    // Pages of 3 split the tie: the second page starts between the two rows at midnight.
    for (const auto& [order, limit] :
         {std::pair<std::string, int>{"asc", 2}, {"asc", 3}, {"desc", 2}, {"desc", 3}}) {
        const auto seen =
            walk_pages(http, "/api/v1/messages?topic=pages/x&limit=" + std::to_string(limit) +
                                 "&order=" + order);
        auto want = expected;
        if (order == "desc")
            std::reverse(want.begin(), want.end());
        INFO(order << " " << limit);
        CHECK(seen == want);
    }
}

TEST_CASE("one broker's ids are contiguous within an hour, across reserved blocks",
          "[partitions]") {
    ApiBroker api(kToken, {{"batch_max_rows", "3000"}});
    auto db = cluster().connect(api.db);
    MqttClient device(api.broker.port(), "contiguous");
    // More than two blocks of 16384, in batches that do not divide them.
    constexpr int kMessages = 40000;
    for (int i = 0; i < kMessages; ++i)
        device.publish("ids/x", std::to_string(i), 0);
    REQUIRE(wait_stored(*db, kMessages, seconds(60)));
    CHECK(query_value(*db,
                      "SELECT count(*) FROM (SELECT id >> 33 FROM culex.message_store"
                      " GROUP BY 1 HAVING max(id) - min(id) + 1 <> count(*)"
                      " OR min(id) & 8589934591 <> 1) gaps") == "0");
    // The broker's arrival order is the id order.
    CHECK(query_value(*db,
                      "SELECT count(*) FROM (SELECT seq, lag(seq) OVER (ORDER BY id) AS"
                      " before FROM culex.message_store) s WHERE seq < before") == "0");
}

TEST_CASE("series read partition by partition: past many empty ones, and one dropped unseen",
          "[partitions]") {
    ApiBroker api(kToken);
    auto db = cluster().connect(api.db);
    HttpClient http(api.base, kToken);
    const int64_t now = wall_clock_us();
    // A topic only in the two oldest of twelve days; another in every day.
    std::vector<int64_t> sparse;
    for (int day = 12; day >= 1; --day) {
        insert_at(http, "dense/x", now - day * kDayUs);
        if (day >= 11)
            sparse.push_back(insert_at(http, "sparse/x", now - day * kDayUs));
    }
    auto ids_of = [&](const std::string& q) {
        std::vector<int64_t> ids;
        for (const auto& r : json(http.get(q))["items"].GetArray())
            ids.push_back(r["id"].GetInt64());
        return ids;
    };
    CHECK(ids_of("/api/v1/messages?topic=sparse/x&limit=5") ==
          std::vector<int64_t>{sparse[1], sparse[0]});
    CHECK(ids_of("/api/v1/messages?topic=sparse/x&limit=5&order=asc") ==
          std::vector<int64_t>{sparse[0], sparse[1]});
    CHECK(ids_of("/api/v1/messages?topic=dense/x&limit=100").size() == 12);
    // A partition dropped behind the API's back (not by retention): reads answer from
    // what is left, by id and as a series.
    const std::string partition =
        query_value(*db,
                    "SELECT partition FROM culex.message_partitions WHERE range_from <="
                    " to_timestamp($1::bigint / 1e6) AND range_to > to_timestamp($1::bigint / 1e6)",
                    {std::to_string(now - 5 * kDayUs)});
    REQUIRE(db->exec(("DROP TABLE " + partition).c_str()).ok());
    CHECK(ids_of("/api/v1/messages?topic=dense/x&limit=100").size() == 11);
    CHECK(ids_of("/api/v1/messages?topic=sparse/x&limit=5") ==
          std::vector<int64_t>{sparse[1], sparse[0]});
    CHECK(json(http.get("/api/v1/messages/" + std::to_string(sparse[0])))["topic"].GetString() ==
          std::string("sparse/x"));
}
