// Newest-first reads under a topic filter read in proportion to the page, not to the
// table (topic_set_plan.h): per topic when a filter matches few topics, along the time
// index when it matches many. Each plan is PostgreSQL's own: auto_explain logs every
// statement of the read with its actual row counts, and the test reads them back.
#include <rapidjson/document.h>
#include <catch2/catch.hpp>

#include <fstream>
#include <regex>
#include <sstream>

#include "storage/message_reads.h"
#include "storage/partition_map.h"
#include "storage/pg_connection.h"
#include "storage/topic_set_plan.h"
#include "support/api_broker.h"
#include "support/fixture.h"
#include "support/http_client.h"

using namespace culex;
using namespace culex::test;

namespace {

constexpr const char* kToken = "filter-reads-admin-token-0123456789";
constexpr int kRows = 300000;

// 1,000 topics: plan/few/0..2 with a tenth of the rows each, plan/mid/0..39 and
// plan/many/0..956 sharing the rest evenly; all in the day two days ago.
void load_rows(PgConnection& db) {
    REQUIRE(db.exec("INSERT INTO culex.topics (name) SELECT 'plan/few/' || g FROM"
                    " generate_series(0, 2) g UNION ALL SELECT 'plan/mid/' || g FROM"
                    " generate_series(0, 39) g UNION ALL SELECT 'plan/many/' || g FROM"
                    " generate_series(0, 956) g")
                .ok());
    REQUIRE(db.exec("SELECT culex.create_message_partition(now() - interval '2 days', 24)").ok());
    REQUIRE(
        db.exec("INSERT INTO culex.brokers (name) VALUES ('loader') ON CONFLICT DO NOTHING").ok());
    REQUIRE(db.exec("WITH p AS (SELECT range_from FROM culex.message_partitions WHERE"
                    " now() - interval '2 days' >= range_from AND now() - interval '2 days' <"
                    " range_to), r AS (SELECT n, p.range_from + n * interval '250 ms' AS at,"
                    " CASE WHEN n % 10 < 3 THEN 'plan/few/' || n % 10 WHEN n % 997 < 40 THEN"
                    " 'plan/mid/' || n % 997 ELSE 'plan/many/' || n % 997 - 40 END AS topic"
                    " FROM p, generate_series(1, $1::integer) n)"
                    " INSERT INTO culex.message_store (id, topic_id, payload, qos, retain,"
                    " client_id, broker_id, seq, received_at)"
                    " SELECT (floor(extract(epoch FROM r.at) / 3600)::bigint << 33) + r.n, t.id,"
                    " convert_to(r.n::text, 'UTF8'), 0, false, 'loader',"
                    " (SELECT id FROM culex.brokers WHERE name = 'loader'), r.n, r.at"
                    " FROM r JOIN culex.topics t ON t.name = r.topic",
                    {std::to_string(kRows)})
                .ok());
    REQUIRE(db.exec("ANALYZE culex.message_store").ok());
    REQUIRE(db.exec("ANALYZE culex.topics").ok());
}

// The ids of the newest `limit` live rows on topics whose names match `regex`, before
// the cursor row (received_us, id) when given: what every plan must return.
std::vector<int64_t> expected_ids(PgConnection& db, const std::string& regex, size_t limit,
                                  const std::optional<SeriesCursor>& before = std::nullopt) {
    std::string sql =
        "SELECT m.id FROM culex.message_store m JOIN culex.topics t ON t.id = m.topic_id"
        " WHERE t.name ~ $1 AND m.deleted_at IS NULL";
    std::vector<std::string> params = {regex};
    if (before) {
        sql +=
            " AND (m.received_at, m.id) < (timestamptz 'epoch' + $2::bigint * interval"
            " '1 microsecond', $3::bigint)";
        params.push_back(std::to_string(before->received_us));
        params.push_back(std::to_string(before->id));
    }
    sql += " ORDER BY m.received_at DESC, m.id DESC LIMIT " + std::to_string(limit);
    PgOutcome outcome = db.exec(sql.c_str(), params);
    REQUIRE(outcome.ok());
    std::vector<int64_t> ids;
    for (int i = 0; i < PQntuples(outcome.result.get()); ++i)
        ids.push_back(std::stoll(PQgetvalue(outcome.result.get(), i, 0)));
    return ids;
}

std::string log_tail_from(std::streamoff offset) {
    std::ifstream in(cluster().log_path());
    in.seekg(offset);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::streamoff log_size() {
    std::ifstream in(cluster().log_path(), std::ios::ate);
    return in.tellg();
}

struct PlanReport {
    std::string text;
    int64_t rows_read = 0;  // rows the scans of message_store's partitions looked at
    int seq_scans = 0;      // of message_store's partitions, that looked at any row
};

// What the plans of the statements between `offset` and the log's end read: each scan
// node's rows, kept or removed by its filter, times its loops.
PlanReport plans_since(std::streamoff offset) {
    PlanReport report;
    report.text = log_tail_from(offset);
    static const std::regex node(R"(->|^\s*(Limit|Sort|Nested|Merge|Hash|Append|Result|Subquery))");
    static const std::regex scan(
        R"((Seq Scan|Index Scan|Index Only Scan|Bitmap Heap Scan)[^\n]* on message_store_\w+.*actual rows=(\d+) loops=(\d+))");
    static const std::regex removed(R"(Rows Removed by (Filter|Index Recheck): (\d+))");
    std::istringstream lines(report.text);
    std::string line;
    bool in_scan = false;
    bool is_seq = false;
    int64_t rows = 0;
    int64_t loops = 0;
    auto finish = [&] {
        if (in_scan) {
            report.rows_read += rows * loops;
            if (is_seq && rows > 0)
                ++report.seq_scans;
        }
        in_scan = false;
    };
    for (std::smatch m; std::getline(lines, line);) {
        if (std::regex_search(line, m, scan)) {
            finish();
            in_scan = true;
            is_seq = m[1] == "Seq Scan";
            rows = std::stoll(m[2]);
            loops = std::stoll(m[3]);
        } else if (std::regex_search(line, m, removed)) {
            rows += std::stoll(m[2]);
        } else if (std::regex_search(line, node)) {
            finish();
        }
    }
    finish();
    return report;
}

// Reads the newest page under `selection` on a session that logs every plan; the rows'
// ids and what the plans read.
std::vector<int64_t> read_logged(PgConnection& db, PartitionMap& partitions,
                                 const MessageSelection& selection, const PageRequest& page,
                                 PlanReport& report) {
    const std::streamoff offset = log_size();
    std::vector<StoredMessage> rows;
    REQUIRE(read_series(db, &partitions, selection, page, rows).ok());
    // The log is written by the server process; a statement's plan is there once the
    // statement's answer came, and a final marker statement proves it.
    REQUIRE(db.exec("SELECT 'end of read'").ok());
    REQUIRE(
        wait_until([&] { return log_tail_from(offset).find("end of read") != std::string::npos; },
                   std::chrono::seconds(10)));
    report = plans_since(offset);
    std::vector<int64_t> ids;
    for (const StoredMessage& m : rows)
        ids.push_back(m.id);
    return ids;
}

}  // namespace

TEST_CASE("newest 100 under a filter reads about the page, per topic or along time", "[filter]") {
    ApiBroker api(kToken);
    auto db = cluster().connect(api.db);
    load_rows(*db);
    auto session = cluster().connect(api.db);
    REQUIRE(session->exec("LOAD 'auto_explain'").ok());
    REQUIRE(session->exec("SET auto_explain.log_min_duration = 0").ok());
    REQUIRE(session->exec("SET auto_explain.log_analyze = on").ok());
    REQUIRE(session->exec("SET auto_explain.log_timing = off").ok());
    PartitionMap partitions;
    PageRequest page;
    page.limit = 100;

    struct Case {
        const char* name;
        MessageSelection selection;
        const char* regex;      // the same topics, for expected_ids
        int64_t max_rows_read;  // by the plans of the first page
    };
    MessageSelection few;
    few.filter = "plan/few/+";
    MessageSelection like;
    like.topic_like = "plan/few/%";
    MessageSelection mid;
    mid.filter = "plan/mid/+";
    MessageSelection all;
    all.filter = "plan/#";
    MessageSelection none;
    none.filter = "nothing/+";
    // 3 topics: each one's newest 101, merged. 40 of 1,000: the time index, where one
    // row in 36 is theirs. All of them: the newest 101 rows. The plans PostgreSQL
    // chose by itself read every matching row and sorted (3 and 40 topics: 90,000 and
    // 8,400 rows) or scanned the whole table (1,000).
    const Case cases[] = {
        {"3 topics by filter", few, "^plan/few/[^/]*$", 3 * 101},
        {"3 topics by LIKE", like, "^plan/few/", 3 * 101},
        {"40 topics", mid, "^plan/mid/[^/]*$", 101 * 50},
        {"1,000 topics", all, "^plan(/.*)?$", 2 * 101},
        {"no topic", none, "^nothing/[^/]*$", 0},
    };
    for (const Case& c : cases) {
        INFO(c.name);
        PlanReport report;
        const std::vector<int64_t> got =
            read_logged(*session, partitions, c.selection, page, report);
        INFO(report.text.substr(0, 6000));
        CHECK(got == expected_ids(*db, c.regex, 101));
        CHECK(report.seq_scans == 0);
        CHECK(report.rows_read <= c.max_rows_read);
        if (got.size() < 101)
            continue;
        // The next page, from the cursor the first page's last row gives.
        std::vector<StoredMessage> rows;
        PageRequest next = page;
        SeriesCursor cursor;
        REQUIRE(read_series(*session, &partitions, c.selection, page, rows).ok());
        cursor.received_us = rows[99].received_us;
        cursor.id = rows[99].id;
        next.after = cursor;
        const std::vector<int64_t> second =
            read_logged(*session, partitions, c.selection, next, report);
        CHECK(second == expected_ids(*db, c.regex, 101, cursor));
        CHECK(report.seq_scans == 0);
        CHECK(report.rows_read <= c.max_rows_read);
    }

    // Through the API, as apps ask.
    HttpClient http(api.base, kToken);
    HttpReply reply = http.get("/api/v1/messages?filter=plan/few/%2B&limit=5");
    REQUIRE(reply.status == 200);
    rapidjson::Document doc = json(reply);
    const std::vector<int64_t> want = expected_ids(*db, "^plan/few/[^/]*$", 5);
    REQUIRE(doc["items"].Size() == want.size());
    for (rapidjson::SizeType i = 0; i < doc["items"].Size(); ++i)
        CHECK(doc["items"][i]["id"].GetInt64() == want[i]);
    reply = http.get("/api/v1/messages?filter=plan/%23&limit=5&order=asc");
    REQUIRE(reply.status == 200);
    CHECK(json(reply)["items"].Size() == 5);
}
