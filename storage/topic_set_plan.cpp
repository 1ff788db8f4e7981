#include "topic_set_plan.h"

#include <cstdlib>
#include <string>

#include "message_sql.h"

namespace culex {

bool choose_per_topic(size_t matching, double total) {
    const auto k = static_cast<double>(matching);
    return matching > 0 && matching <= kMaxPerTopic && k * k < total;
}

PgOutcome plan_topic_set(PgConnection& db, const MessageSelection& selection, TopicSetPlan& plan) {
    plan = TopicSetPlan{};
    if (selection.topic || selection.id || (!selection.topic_like && !selection.filter) ||
        (selection.filter && !selection.topic_like &&
         selection.filter->find_first_of("+#") == std::string::npos))
        return PgOutcome{};
    SqlParams params;
    const std::string names = topic_set_sql(selection, params);
    // The planner's row count of culex.topics is close enough to choose by, and free;
    // a table never analyzed yet (-1) is counted.
    const std::string sql =
        "SELECT id, (SELECT CASE WHEN reltuples < 0 THEN (SELECT count(*) FROM culex.topics)"
        " ELSE reltuples END::float8 FROM pg_class WHERE oid = 'culex.topics'::regclass)"
        " FROM culex.topics WHERE " +
        names + " LIMIT " + std::to_string(kMaxPerTopic + 1);
    PgOutcome outcome = db.exec_prepared(sql, params.values(), false);
    if (!outcome.ok())
        return outcome;
    const PGresult* r = outcome.result.get();
    const int matching = PQntuples(r);
    if (matching == 0) {
        plan.way = TopicSetWay::kNone;
        return outcome;
    }
    const double total = std::strtod(PQgetvalue(r, 0, 1), nullptr);
    if (!choose_per_topic(static_cast<size_t>(matching), total)) {
        plan.way = TopicSetWay::kAlongTime;
        return outcome;
    }
    plan.way = TopicSetWay::kPerTopic;
    for (int row = 0; row < matching; ++row)
        plan.topic_ids.push_back(
            static_cast<int32_t>(std::strtol(PQgetvalue(r, row, 0), nullptr, 10)));
    return outcome;
}

}  // namespace culex
