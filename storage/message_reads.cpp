#include "message_reads.h"

#include <cstdlib>

#include "message_sql.h"
#include "pg_array.h"

namespace culex {
namespace {

// The columns every record read returns, in the order row_to_message expects.
constexpr const char* kRecordColumns =
    "m.id, t.name, m.payload, m.qos, m.retain, m.client_id, m.username, b.name,"
    " (extract(epoch FROM m.received_at) * 1000000)::bigint";
constexpr const char* kRecordJoins =
    " JOIN culex.topics t ON t.id = m.topic_id JOIN culex.brokers b ON b.id = m.broker_id";

std::string text(PGresult* r, int row, int col) {
    return std::string(PQgetvalue(r, row, col), static_cast<size_t>(PQgetlength(r, row, col)));
}

int64_t integer(PGresult* r, int row, int col) {
    return std::strtoll(PQgetvalue(r, row, col), nullptr, 10);
}

std::string bytea(PGresult* r, int row, int col) {
    size_t length = 0;
    unsigned char* bytes =
        PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r, row, col)), &length);
    if (bytes == nullptr)
        throw std::bad_alloc();
    std::string out(reinterpret_cast<const char*>(bytes), length);
    PQfreemem(bytes);
    return out;
}

// Reads the kRecordColumns starting at column `c`.
StoredMessage row_to_message(PGresult* r, int row, int c) {
    StoredMessage m;
    m.id = integer(r, row, c);
    m.topic = text(r, row, c + 1);
    m.payload = bytea(r, row, c + 2);
    m.qos = static_cast<int>(integer(r, row, c + 3));
    m.retain = PQgetvalue(r, row, c + 4)[0] == 't';
    m.client_id = text(r, row, c + 5);
    if (!PQgetisnull(r, row, c + 6))
        m.username = text(r, row, c + 6);
    m.broker = text(r, row, c + 7);
    m.received_us = integer(r, row, c + 8);
    return m;
}

}  // namespace

PgOutcome read_message(PgConnection& db, int64_t id, std::optional<StoredMessage>& found) {
    const std::string sql = std::string("SELECT ") + kRecordColumns +
                            " FROM culex.message_store m" + kRecordJoins +
                            " WHERE m.id = $1::bigint AND m.deleted_at IS NULL";
    PgOutcome outcome = db.exec(sql.c_str(), {std::to_string(id)});
    if (!outcome.ok())
        return outcome;
    PGresult* r = outcome.result.get();
    found.reset();
    if (PQntuples(r) > 0)
        found = row_to_message(r, 0, 0);
    return outcome;
}

PgOutcome read_topic_of(PgConnection& db, int64_t id, bool deleted,
                        std::optional<std::string>& topic) {
    PgOutcome outcome =
        db.exec(deleted ? "SELECT t.name FROM culex.message_store m JOIN culex.topics t"
                          " ON t.id = m.topic_id WHERE m.id = $1::bigint"
                          " AND m.deleted_at IS NOT NULL"
                        : "SELECT t.name FROM culex.message_store m JOIN culex.topics t"
                          " ON t.id = m.topic_id WHERE m.id = $1::bigint"
                          " AND m.deleted_at IS NULL",
                {std::to_string(id)});
    if (!outcome.ok())
        return outcome;
    topic.reset();
    if (PQntuples(outcome.result.get()) > 0)
        topic = text(outcome.result.get(), 0, 0);
    return outcome;
}

PgOutcome read_series(PgConnection& db, const MessageSelection& selection, const PageRequest& page,
                      std::vector<StoredMessage>& rows) {
    SqlParams params;
    std::string where = selection_sql(selection, RowState::kLive, params);
    const char* direction = page.ascending ? "ASC" : "DESC";
    if (page.after) {
        // A row comparison, so the (topic_id, received_at, id) index serves the page.
        where += std::string(" AND (m.received_at, m.id) ") + (page.ascending ? ">" : "<") + " (" +
                 micros_to_timestamptz(params.add(std::to_string(page.after->received_us))) + ", " +
                 params.add(std::to_string(page.after->id)) + "::bigint)";
    }
    const std::string sql = std::string("SELECT ") + kRecordColumns +
                            " FROM culex.message_store m" + kRecordJoins + " WHERE " + where +
                            " ORDER BY m.received_at " + direction + ", m.id " + direction +
                            " LIMIT " + params.add(std::to_string(page.limit + 1)) + "::bigint";
    PgOutcome outcome = db.exec(sql.c_str(), params.values());
    if (!outcome.ok())
        return outcome;
    PGresult* r = outcome.result.get();
    rows.clear();
    rows.reserve(static_cast<size_t>(PQntuples(r)));
    for (int i = 0; i < PQntuples(r); ++i)
        rows.push_back(row_to_message(r, i, 0));
    return outcome;
}

PgOutcome read_buckets(PgConnection& db, const MessageSelection& selection,
                       const std::vector<std::string>& path, int64_t bucket_us,
                       std::vector<AggregateBucket>& buckets) {
    SqlParams params;
    const std::string field = "(m.payload_json #> " + params.add(pg_text_array(path)) + "::text[])";
    const std::string bucket = params.add(std::to_string(bucket_us));
    const std::string where = selection_sql(selection, RowState::kLive, params);
    // numeric, not float8: exact sums, and no overflow error on numbers past float8.
    const std::string sql =
        "SELECT (extract(epoch FROM date_bin(" + bucket +
        "::bigint * interval '1 microsecond', m.received_at, timestamptz 'epoch'))"
        " * 1000000)::bigint AS bucket,"
        " count(*), min(v), max(v), trim_scale(round(avg(v), 12)), sum(v),"
        " (array_agg(v ORDER BY m.received_at, m.id))[1],"
        " (array_agg(v ORDER BY m.received_at DESC, m.id DESC))[1]"
        " FROM culex.message_store m"
        " CROSS JOIN LATERAL (SELECT CASE WHEN jsonb_typeof(" +
        field + ") = 'number' THEN " + field + "::numeric END AS v) x WHERE " + where +
        " AND x.v IS NOT NULL GROUP BY 1 ORDER BY 1";
    PgOutcome outcome = db.exec(sql.c_str(), params.values());
    if (!outcome.ok())
        return outcome;
    PGresult* r = outcome.result.get();
    buckets.clear();
    for (int i = 0; i < PQntuples(r); ++i) {
        AggregateBucket b;
        b.start_us = integer(r, i, 0);
        b.count = integer(r, i, 1);
        b.min = text(r, i, 2);
        b.max = text(r, i, 3);
        b.avg = text(r, i, 4);
        b.sum = text(r, i, 5);
        b.first = text(r, i, 6);
        b.last = text(r, i, 7);
        buckets.push_back(std::move(b));
    }
    return outcome;
}

PgOutcome read_topics(PgConnection& db, const std::string& filter,
                      const std::optional<std::string>& after_name, size_t limit,
                      std::vector<TopicSummary>& topics) {
    SqlParams params;
    std::string sql =
        std::string(
            "SELECT (SELECT count(*) FROM culex.message_store c WHERE c.topic_id = tt.id"
            " AND c.deleted_at IS NULL), l.* FROM culex.topics tt"
            " CROSS JOIN LATERAL (SELECT ") +
        kRecordColumns + " FROM culex.message_store m" + kRecordJoins +
        " WHERE m.topic_id = tt.id AND m.deleted_at IS NULL"
        " ORDER BY m.received_at DESC, m.id DESC LIMIT 1) l WHERE " +
        topic_condition_sql("tt.id", filter, params);
    if (after_name)
        sql += " AND tt.name COLLATE \"C\" > " + params.add(*after_name);
    sql += " ORDER BY tt.name COLLATE \"C\" LIMIT " + params.add(std::to_string(limit + 1)) +
           "::bigint";
    PgOutcome outcome = db.exec(sql.c_str(), params.values());
    if (!outcome.ok())
        return outcome;
    PGresult* r = outcome.result.get();
    topics.clear();
    for (int i = 0; i < PQntuples(r); ++i) {
        TopicSummary t;
        t.messages = integer(r, i, 0);
        t.latest = row_to_message(r, i, 1);
        t.topic = t.latest.topic;
        topics.push_back(std::move(t));
    }
    return outcome;
}

}  // namespace culex
