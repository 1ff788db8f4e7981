#include "topic_ids.h"

#include <cstdlib>

namespace culex {

PgOutcome TopicIds::resolve(PgConnection& db, const std::vector<Message>& batch,
                            std::vector<int32_t>& ids) {
    ids.resize(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
        auto it = cache_.find(batch[i].topic);
        if (it != cache_.end()) {
            ids[i] = it->second;
            continue;
        }
        PgOutcome outcome = lookup_or_create(db, batch[i].topic, ids[i]);
        if (!outcome.ok())
            return outcome;
        if (cache_.size() >= kMaxCached)
            cache_.clear();
        cache_.emplace(batch[i].topic, ids[i]);
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
