#include "message_reads.h"

#include <endian.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "common/clock.h"
#include "common/time_text.h"
#include "copy_encoder.h"
#include "message_ids.h"
#include "message_sql.h"
#include "pg_array.h"
#include "topic_set_plan.h"

namespace culex {
namespace {

// Statements are prepared once per connection and return binary values: PostgreSQL's
// CPU is what limits API reads, and this spares it parsing, planning and hex-encoding.

// The columns every record read returns, in the order row_to_message expects.
constexpr const char* kRecordColumns =
    "m.id, t.name, m.payload, m.qos, m.retain, m.client_id, m.username, b.name,"
    " (extract(epoch FROM m.received_at) * 1000000)::bigint";
constexpr const char* kRecordJoins =
    " JOIN culex.topics t ON t.id = m.topic_id JOIN culex.brokers b ON b.id = m.broker_id";

// A binary int2, int4 or int8 value.
int64_t integer(const PGresult* r, int row, int col) {
    const char* v = PQgetvalue(r, row, col);
    switch (PQgetlength(r, row, col)) {
        case 2: {
            uint16_t x;
            std::memcpy(&x, v, 2);
            return static_cast<int16_t>(be16toh(x));
        }
        case 4: {
            uint32_t x;
            std::memcpy(&x, v, 4);
            return static_cast<int32_t>(be32toh(x));
        }
        case 8: {
            uint64_t x;
            std::memcpy(&x, v, 8);
            return static_cast<int64_t>(be64toh(x));
        }
        default:
            return 0;
    }
}

// Reads the kRecordColumns starting at column `c`.
StoredMessage row_to_message(const PGresult* r, int row, int c) {
    StoredMessage m;
    m.id = integer(r, row, c);
    m.topic = pg_value(r, row, c + 1);
    m.payload = pg_value(r, row, c + 2);
    m.qos = static_cast<int>(integer(r, row, c + 3));
    m.retain = PQgetvalue(r, row, c + 4)[0] != 0;
    m.client_id = pg_value(r, row, c + 5);
    if (!PQgetisnull(r, row, c + 6))
        m.username = pg_value(r, row, c + 6);
    m.broker = pg_value(r, row, c + 7);
    m.received_us = integer(r, row, c + 8);
    return m;
}

// The first partition of a migrated table holds the ids from before partitions.
constexpr int64_t kLegacyIds = int64_t{1} << kMessageIdHourBits;
constexpr int64_t kHourUs = int64_t{3600} * 1000000;

// Runs `run` on the partition that holds the hour record id `id` names, when the map
// knows it, else (or when that partition is gone) on the partitioned table.
template <typename Run>
PgOutcome on_table_of_id(PgConnection& db, PartitionMap* partitions, int64_t id, const Run& run) {
    if (partitions != nullptr) {
        const auto leaves = partitions->leaves(db);
        const Leaf* leaf = nullptr;
        if (id < kLegacyIds) {
            if (!leaves->empty() && leaves->front().from_us == std::numeric_limits<int64_t>::min())
                leaf = &leaves->front();
        } else {
            const int64_t from = (id >> kMessageIdHourBits) * kHourUs;
            leaf = leaf_holding(*leaves, from, from + kHourUs);
        }
        if (leaf != nullptr) {
            PgOutcome outcome = run(leaf->table);
            if (outcome.error != PgErrorKind::kOther)
                return outcome;
            partitions->invalidate();
        }
    }
    return run("culex.message_store");
}

}  // namespace

PgOutcome read_message(PgConnection& db, PartitionMap* partitions, int64_t id,
                       std::optional<StoredMessage>& found) {
    PgOutcome outcome = on_table_of_id(db, partitions, id, [&](const std::string& table) {
        const std::string sql = std::string("SELECT ") + kRecordColumns + " FROM " + table + " m" +
                                kRecordJoins + " WHERE " + record_id_sql("m", "$1::bigint") +
                                " AND m.deleted_at IS NULL";
        return db.exec_prepared(sql, {std::to_string(id)}, true);
    });
    if (!outcome.ok())
        return outcome;
    PGresult* r = outcome.result.get();
    found.reset();
    if (PQntuples(r) > 0)
        found = row_to_message(r, 0, 0);
    return outcome;
}

PgOutcome read_topic_of(PgConnection& db, PartitionMap* partitions, int64_t id, bool deleted,
                        std::optional<std::string>& topic) {
    PgOutcome outcome = on_table_of_id(db, partitions, id, [&](const std::string& table) {
        const std::string sql = "SELECT t.name FROM " + table +
                                " m JOIN culex.topics t ON t.id = m.topic_id WHERE " +
                                record_id_sql("m", "$1::bigint") + " AND m.deleted_at IS " +
                                (deleted ? "NOT NULL" : "NULL");
        return db.exec_prepared(sql, {std::to_string(id)}, true);
    });
    if (!outcome.ok())
        return outcome;
    topic.reset();
    if (PQntuples(outcome.result.get()) > 0)
        topic = pg_value(outcome.result.get(), 0, 0);
    return outcome;
}

namespace {

// One statement of a series read, on `source` (a table, or a UNION ALL of partitions)
// with the extra condition `bound` (may be empty), appending at most `limit` rows, the
// way `plan` says (topic_set_plan.h).
// The limit is part of the text: with it as a parameter PostgreSQL assumes a tenth of
// the rows and, on a partition of a day's rows, keeps planning the statement at every
// execution (measured: planning then took as long as running it).
PgOutcome read_series_from(PgConnection& db, const std::string& source, const std::string& bound,
                           const MessageSelection& selection, const TopicSetPlan& plan,
                           const PageRequest& page, size_t limit,
                           std::vector<StoredMessage>& rows) {
    SqlParams params;
    std::string where;
    std::string topic_ids;  // kPerTopic: the placeholder of the topics' ids
    if (plan.way == TopicSetWay::kAsIs) {
        where = selection_sql(selection, RowState::kLive, params);
    } else {
        MessageSelection rest = selection;
        rest.filter.reset();
        rest.topic_like.reset();
        where = selection_sql(rest, RowState::kLive, params);
        if (plan.way == TopicSetWay::kAlongTime) {
            // `+ 0` keeps the planner off the topic index, which it would read for
            // every matching row and then sort.
            where += " AND (m.topic_id + 0) IN (SELECT id FROM culex.topics WHERE " +
                     topic_set_sql(selection, params) + ")";
        } else {
            std::vector<std::string> ids;
            for (int32_t id : plan.topic_ids)
                ids.push_back(std::to_string(id));
            where += " AND m.topic_id = k.topic_id";
            topic_ids = params.add(pg_text_array(ids));
        }
    }
    const char* direction = page.ascending ? "ASC" : "DESC";
    if (page.after) {
        // A row comparison, so either index serves the page, (topic_id, received_at, id)
        // per topic and (received_at, id) along time; the plain bound beside it lets the
        // planner skip partitions the page cannot reach.
        const std::string at =
            micros_to_timestamptz(params.add(std::to_string(page.after->received_us)));
        const char* op = page.ascending ? ">" : "<";
        where += std::string(" AND (m.received_at, m.id) ") + op + " (" + at + ", " +
                 params.add(std::to_string(page.after->id)) + "::bigint) AND m.received_at " + op +
                 "= " + at;
    }
    if (!bound.empty())
        where += " AND " + bound;
    const std::string order = std::string(" ORDER BY m.received_at ") + direction + ", m.id " +
                              direction + " LIMIT " + std::to_string(limit);
    std::string sql;
    if (plan.way == TopicSetWay::kPerTopic) {
        sql = std::string("SELECT ") + kRecordColumns + " FROM unnest(" + topic_ids +
              "::integer[]) k(topic_id) CROSS JOIN LATERAL (SELECT m.* FROM " + source +
              " m WHERE " + where + order + ") m" + kRecordJoins + order;
    } else {
        sql = std::string("SELECT ") + kRecordColumns + " FROM " + source + " m" + kRecordJoins +
              " WHERE " + where + order;
    }
    PgOutcome outcome = db.exec_prepared(sql, params.values(), true);
    if (!outcome.ok())
        return outcome;
    PGresult* r = outcome.result.get();
    for (int i = 0; i < PQntuples(r); ++i)
        rows.push_back(row_to_message(r, i, 0));
    return outcome;
}

// The partitions `group` as one relation: a plain UNION ALL of their tables, which
// PostgreSQL merges in order (Merge Append) and, being no partitioned table, plans once
// per connection. Columns are named, since a migrated first partition may order them
// differently.
std::string union_of(const std::vector<Leaf>& group) {
    if (group.size() == 1)
        return group.front().table;
    const std::string columns = std::string(kMessageStoreColumns) + ", deleted_at";
    std::string sql = "(";
    for (const Leaf& leaf : group) {
        if (sql.size() > 1)
            sql += " UNION ALL ";
        sql += "SELECT " + columns + " FROM " + leaf.table;
    }
    return sql + ")";
}

// The most partitions one statement of a series read covers.
constexpr size_t kMaxGroup = 8;

}  // namespace

PgOutcome read_series(PgConnection& db, PartitionMap* partitions, const MessageSelection& selection,
                      const PageRequest& page, std::vector<StoredMessage>& rows) {
    rows.clear();
    TopicSetPlan plan;
    PgOutcome planned = plan_topic_set(db, selection, plan);
    if (!planned.ok())
        return planned;
    if (plan.way == TopicSetWay::kNone)
        return PgOutcome{};
    const size_t wanted = page.limit + 1;
    // The time range the page can reach, [lo, hi] inclusive.
    int64_t lo = selection.after_us ? *selection.after_us : std::numeric_limits<int64_t>::min();
    int64_t hi = selection.before_us ? *selection.before_us : std::numeric_limits<int64_t>::max();
    if (page.after && page.ascending)
        lo = std::max(lo, page.after->received_us);
    if (page.after && !page.ascending)
        hi = std::min(hi, page.after->received_us);
    std::vector<Leaf> visit;
    if (partitions != nullptr && !selection.id) {
        const auto leaves = partitions->leaves(db);
        for (const Leaf& leaf : *leaves) {
            if (leaf.until_us > lo && leaf.from_us <= hi)
                visit.push_back(leaf);
        }
        if (!page.ascending)
            std::reverse(visit.begin(), visit.end());
    }
    // Partitions in the page's order, a group of them per statement, as PostgreSQL's
    // ordered append would read them but each statement planned once per connection
    // (the partitioned table is planned anew at each execution, and opens every
    // partition it cannot rule out: docs/benchmarks.md). The first group reaches past
    // the partitions made ahead for times still to come, which are nearly always
    // empty; later groups double, so a topic with few rows a day costs few round trips
    // and a dense one never starts scans it does not need.
    const int64_t now_us = wall_clock_us();
    size_t visited = 0;
    size_t group_size = 1;
    while (visited < visit.size() && rows.size() < wanted) {
        size_t end = visited;
        if (visited == 0 && !page.ascending) {
            while (end + 1 < visit.size() && visit[end].from_us > now_us && end + 1 < kMaxGroup)
                ++end;
        }
        end = std::min(visit.size(), std::max(end + 1, visited + group_size));
        const std::vector<Leaf> group(visit.begin() + static_cast<std::ptrdiff_t>(visited),
                                      visit.begin() + static_cast<std::ptrdiff_t>(end));
        const size_t before = rows.size();
        // Always `wanted`, so that one text serves every page of that size.
        PgOutcome outcome =
            read_series_from(db, union_of(group), "", selection, plan, page, wanted, rows);
        if (outcome.error == PgErrorKind::kOther) {
            // Gone since the map was read (dropped): the partitioned table answers.
            rows.resize(before);
            partitions->invalidate();
            break;
        }
        if (!outcome.ok())
            return outcome;
        visited = end;
        group_size = std::min(kMaxGroup, group_size * 2);
    }
    if (rows.size() >= wanted || (visited == visit.size() && visited > 0)) {
        // Done, or every partition the map knows was read: what it does not know (made
        // within its age by another broker, for an old time) is left out of this page.
        rows.resize(std::min(rows.size(), wanted));
        return PgOutcome{};
    }
    std::string bound;
    if (visited > 0) {
        const Leaf& last = visit[visited - 1];
        if (!page.ascending && last.from_us == std::numeric_limits<int64_t>::min())
            return PgOutcome{};  // the first partition holds everything older
        bound = page.ascending
                    ? "m.received_at >= " +
                          micros_to_timestamptz(std::to_string(last.until_us) + "::bigint")
                    : "m.received_at < " +
                          micros_to_timestamptz(std::to_string(last.from_us) + "::bigint");
    }
    return read_series_from(db, "culex.message_store", bound, selection, plan, page,
                            wanted - rows.size(), rows);
}

PgOutcome read_buckets(PgConnection& db, const MessageSelection& selection,
                       const std::vector<std::string>& path, int64_t bucket_us,
                       std::vector<AggregateBucket>& buckets) {
    // The rows come ordered by time and are bucketed here: PostgreSQL's grouping with
    // ordered aggregates for first/last cost twice the scan itself (measured,
    // docs/benchmarks.md). Single-row mode keeps memory flat for any number of rows.
    SqlParams params;
    const std::string field = "(m.payload_json #> " + params.add(pg_text_array(path)) + "::text[])";
    const std::string where = selection_sql(selection, RowState::kLive, params);
    const std::string sql = "SELECT (extract(epoch FROM m.received_at) * 1000000)::bigint, " +
                            field + " #>> '{}' FROM culex.message_store m WHERE " + where +
                            " AND jsonb_typeof(" + field +
                            ") = 'number' ORDER BY m.received_at, m.id";
    std::vector<AggregateBucket> out;
    double min = 0;
    double max = 0;
    PgOutcome outcome = db.exec_each_row(sql, params.values(), [&](const PGresult* r) {
        const int64_t us = integer(r, 0, 0);
        const int64_t start = us - ((us % bucket_us) + bucket_us) % bucket_us;
        std::string text = pg_value(r, 0, 1);
        const double v = std::strtod(text.c_str(), nullptr);
        if (out.empty() || out.back().start_us != start) {
            AggregateBucket b;
            b.start_us = start;
            b.min = b.max = b.first = text;
            min = max = v;
            out.push_back(std::move(b));
        }
        AggregateBucket& b = out.back();
        ++b.count;
        b.sum += v;
        if (v < min) {
            min = v;
            b.min = text;
        }
        if (v > max) {
            max = v;
            b.max = text;
        }
        b.last = std::move(text);
    });
    if (!outcome.ok())
        return outcome;
    for (AggregateBucket& b : out)
        b.avg = b.sum / static_cast<double>(b.count);
    buckets = std::move(out);
    return outcome;
}

PgOutcome read_arrivals_after(PgConnection& db, const std::string& broker,
                              const std::string& filter, int64_t after_us, uint64_t after_seq,
                              size_t limit, std::vector<Message>& rows) {
    SqlParams params;
    const std::string broker_param = params.add(broker);
    const std::string after = micros_to_timestamptz(params.add(std::to_string(after_us)));
    const std::string seq = params.add(std::to_string(after_seq));
    const std::string sql =
        "SELECT t.name, m.payload, m.qos, m.retain, m.client_id, m.username, m.seq,"
        " (extract(epoch FROM m.received_at) * 1000000)::bigint"
        " FROM culex.message_store m JOIN culex.topics t ON t.id = m.topic_id"
        " WHERE m.deleted_at IS NULL AND m.broker_id = (SELECT id FROM culex.brokers WHERE name "
        "= " +
        broker_param + ") AND (m.received_at, m.seq) > (" + after + ", " + seq +
        "::bigint) AND m.received_at >= " + after + " AND m.seq > 0 AND " +
        topic_condition_sql("m.topic_id", filter, params) +
        " ORDER BY m.received_at, m.seq LIMIT " + params.add(std::to_string(limit)) + "::bigint";
    PgOutcome outcome = db.exec_prepared(sql, params.values(), true);
    if (!outcome.ok())
        return outcome;
    PGresult* r = outcome.result.get();
    rows.clear();
    for (int i = 0; i < PQntuples(r); ++i) {
        Message m;
        m.topic = pg_value(r, i, 0);
        m.payload = pg_value(r, i, 1);
        m.qos = static_cast<uint8_t>(integer(r, i, 2));
        m.retain = PQgetvalue(r, i, 3)[0] != 0;
        m.client_id = pg_value(r, i, 4);
        if (!PQgetisnull(r, i, 5))
            m.username = pg_value(r, i, 5);
        m.seq = static_cast<uint64_t>(integer(r, i, 6));
        m.received_us = integer(r, i, 7);
        rows.push_back(std::move(m));
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
    PgOutcome outcome = db.exec_prepared(sql, params.values(), true);
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

PgOutcome read_record_ids(PgConnection& db, const std::string& broker,
                          const std::vector<const Message*>& messages, std::vector<int64_t>& ids) {
    ids.assign(messages.size(), 0);
    if (messages.empty())
        return PgOutcome{};
    std::vector<std::string> topics, times, seqs;
    int64_t earliest_us = messages.front()->received_us;
    int64_t latest_us = earliest_us;
    for (const Message* m : messages) {
        topics.push_back(m->topic);
        times.push_back(format_rfc3339_us(m->received_us));
        seqs.push_back(std::to_string(m->seq));
        earliest_us = std::min(earliest_us, m->received_us);
        latest_us = std::max(latest_us, m->received_us);
    }
    // The times go in as timestamptz values and their span as a range of constants, so
    // that the plan opens only the partitions the messages fall in.
    const std::string sql =
        "SELECT k.i, m.id FROM unnest($1::text[], $2::timestamptz[], $3::bigint[]) WITH ORDINALITY"
        " AS k(topic, at, seq, i)"
        " JOIN culex.topics t ON t.name = k.topic"
        " JOIN culex.message_store m ON m.topic_id = t.id AND m.received_at = k.at"
        " AND m.seq = k.seq AND m.received_at BETWEEN $5::timestamptz AND $6::timestamptz"
        " JOIN culex.brokers b ON b.id = m.broker_id AND b.name = $4";
    PgOutcome outcome = db.exec(
        sql.c_str(), {pg_text_array(topics), pg_text_array(times), pg_text_array(seqs), broker,
                      format_rfc3339_us(earliest_us), format_rfc3339_us(latest_us)});
    if (!outcome.ok())
        return outcome;
    const PGresult* r = outcome.result.get();
    for (int row = 0; row < PQntuples(r); ++row) {
        const size_t i = std::strtoull(PQgetvalue(r, row, 0), nullptr, 10) - 1;
        if (i < ids.size())
            ids[i] = std::strtoll(PQgetvalue(r, row, 1), nullptr, 10);
    }
    return outcome;
}

}  // namespace culex
