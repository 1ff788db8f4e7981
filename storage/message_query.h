// What the data API asks of stored messages, as plain values: which rows (a selection)
// and what comes back (records, pages, buckets, topic summaries). Built by the HTTP
// layer from validated input; turned into parameterized SQL by message_sql.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/json_condition.h"
#include "common/message.h"

namespace culex {

// Rows matching every field that is set. `filter` is a valid MQTT topic filter.
struct MessageSelection {
    std::optional<int64_t> id;
    std::optional<std::string> topic;
    std::optional<std::string> filter;
    std::optional<std::string> topic_like;        // SQL LIKE pattern over the topic name
    std::optional<int64_t> after_us;              // received strictly after
    std::optional<int64_t> before_us;             // received strictly before
    std::optional<std::string> payload_contains;  // bytes
    std::optional<std::string> payload_like;      // SQL LIKE pattern over the payload bytes
    std::vector<JsonCondition> json;
    std::optional<int> qos;
    std::optional<bool> retain;
    std::optional<std::string> client_id;

    // True when anything at all narrows the selection.
    bool narrows() const {
        return id || topic || filter || topic_like || after_us || before_us || payload_contains ||
               payload_like || !json.empty() || qos || retain || client_id;
    }
};

// Position in a series, as (received time, id) of the last row returned.
struct SeriesCursor {
    int64_t received_us = 0;
    int64_t id = 0;
};

struct PageRequest {
    size_t limit = 100;
    bool ascending = false;
    std::optional<SeriesCursor> after;
};

// One time bucket of a numeric field. min, max, first and last are the numbers as stored
// (JSON number text, exact); sum and avg are doubles, infinite past double's range.
struct AggregateBucket {
    int64_t start_us = 0;
    int64_t count = 0;
    std::string min, max, first, last;
    double sum = 0;
    double avg = 0;
};

struct TopicSummary {
    std::string topic;
    int64_t messages = 0;
    StoredMessage latest;
};

// A message written through the API rather than received over MQTT.
struct NewMessage {
    std::string topic;
    std::string payload;
    int qos = 0;
    bool retain = false;
    std::string client_id;
    std::optional<std::string> username;
    std::optional<int64_t> received_us;  // now when unset
};

// Rows a delete or purge matched (in any state) and the rows it changed.
struct ChangeCount {
    int64_t matched = 0;
    int64_t changed = 0;
};

}  // namespace culex
