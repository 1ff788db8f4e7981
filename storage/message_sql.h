// Turns a MessageSelection into a SQL condition with positional parameters. Every value
// travels as a parameter; the SQL text is built only from fixed fragments, so no input
// can change a statement's meaning. Pure functions, safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "message_query.h"

namespace culex {

// Collects parameters and hands out their `$n` placeholders.
class SqlParams {
  public:
    std::string add(std::string value) {
        values_.push_back(std::move(value));
        return "$" + std::to_string(values_.size());
    }
    // A bytea parameter in hex form, so any bytes (NUL included) pass as text.
    std::string add_bytes(std::string_view bytes);
    const std::vector<std::string>& values() const { return values_; }

  private:
    std::vector<std::string> values_;
};

enum class RowState { kLive, kDeleted, kAny };

// A condition over `culex.message_store m` (no leading WHERE/AND); never empty.
std::string selection_sql(const MessageSelection& selection, RowState state, SqlParams& params);

// A PostgreSQL regular expression matching exactly the topics `filter` matches (the `$`
// rule aside: see selection_sql).
std::string topic_filter_regex(std::string_view filter);

// A condition on culex.topics' `name` that holds for the topics `filter` matches.
std::string topic_name_condition_sql(const std::string& filter, SqlParams& params);

// A condition on culex.topics' `name` for the topics the selection's `filter` and
// `topic_like` both allow; empty when it has neither.
std::string topic_set_sql(const MessageSelection& selection, SqlParams& params);

// A condition that `id_column` (a culex.topics id) names a topic matching `filter`.
std::string topic_condition_sql(std::string_view id_column, const std::string& filter,
                                SqlParams& params);

// A condition that `alias`'s row has the record id in `id_param` (a bigint placeholder),
// with the hour the id names, so that only that hour's partition is read.
std::string record_id_sql(const std::string& alias, const std::string& id_param);

// `timestamptz` SQL for a parameter holding microseconds since the epoch.
std::string micros_to_timestamptz(const std::string& placeholder);

}  // namespace culex
