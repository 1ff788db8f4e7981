#include "topic_ids.h"

#include <cstdlib>
#include <string_view>
#include <unordered_set>

#include "pg_array.h"

namespace culex {

PgOutcome TopicIds::resolve(PgConnection& db, const std::vector<Message>& batch,
                            std::vector<int32_t>& ids) {
    std::vector<const std::string*> unknown;
    std::unordered_set<std::string_view> seen;
    for (const Message& m : batch) {
        if (cache_.count(m.topic) == 0 && seen.insert(m.topic).second)
            unknown.push_back(&m.topic);
    }
    if (!unknown.empty()) {
        if (cache_.size() + unknown.size() > kMaxCached)
            cache_.clear();
        PgOutcome outcome = register_all(db, unknown);
        if (!outcome.ok())
            return outcome;
        for (const std::string* topic : unknown) {
            if (cache_.count(*topic) != 0)
                continue;
            // Inserted by another broker after this statement's snapshot: look it up alone.
            int32_t id = 0;
            outcome = lookup_or_create(db, *topic, id);
            if (!outcome.ok())
                return outcome;
            cache_.emplace(*topic, id);
        }
    }
    ids.resize(batch.size());
    for (size_t i = 0; i < batch.size(); ++i)
        ids[i] = cache_.at(batch[i].topic);
    return PgOutcome{};
}

PgOutcome TopicIds::register_all(PgConnection& db, const std::vector<const std::string*>& topics) {
    // One round trip for all new topics of a batch: a broker that restarts in front of
    // thousands of devices must not stall its first batches on one query per topic.
    std::vector<std::string> names;
    names.reserve(topics.size());
    for (const std::string* topic : topics)
        names.push_back(*topic);
    // The second half sees the snapshot from before the INSERT, so each topic comes back
    // once: from `created` if new, from the table if it existed.
    static constexpr const char* kSql =
        "WITH input AS (SELECT DISTINCT unnest($1::text[]) AS name),"
        " created AS (INSERT INTO culex.topics (name) SELECT name FROM input"
        " ON CONFLICT DO NOTHING RETURNING id, name)"
        " SELECT id, name FROM created"
        " UNION ALL SELECT t.id, t.name FROM culex.topics t JOIN input i ON t.name = i.name";
    PgOutcome outcome = db.exec(kSql, {pg_text_array(names)});
    if (!outcome.ok())
        return outcome;
    PGresult* rows = outcome.result.get();
    for (int i = 0; i < PQntuples(rows); ++i) {
        cache_.emplace(pg_value(rows, i, 1),
                       static_cast<int32_t>(std::strtol(PQgetvalue(rows, i, 0), nullptr, 10)));
    }
    return PgOutcome{};
}

PgOutcome TopicIds::lookup_or_create(PgConnection& db, const std::string& topic, int32_t& id) {
    // The SELECT half sees the statement's snapshot, so when another broker inserts the
    // same topic concurrently neither half returns a row; the next attempt finds it.
    static constexpr const char* kSql =
        "WITH created AS (INSERT INTO culex.topics (name) VALUES ($1)"
        " ON CONFLICT DO NOTHING RETURNING id)"
        " SELECT id FROM created UNION ALL SELECT id FROM culex.topics WHERE name = $1";
    for (int attempt = 0; attempt < 3; ++attempt) {
        PgOutcome outcome = db.exec(kSql, {topic});
        if (!outcome.ok())
            return outcome;
        if (PQntuples(outcome.result.get()) > 0) {
            id = static_cast<int32_t>(
                std::strtol(PQgetvalue(outcome.result.get(), 0, 0), nullptr, 10));
            return PgOutcome{};
        }
    }
    PgOutcome failed;
    failed.error = PgErrorKind::kOther;
    failed.message = "topic id not found after insert";
    return failed;
}

}  // namespace culex
