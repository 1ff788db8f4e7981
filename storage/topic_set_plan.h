// How a series read under a topic filter with wildcards (or a LIKE pattern over topic
// names) reaches its rows, chosen by what the filter matches (docs/storage.md, "Reads
// under a topic filter").
//
// A page of n rows out of K matching topics of T can be read two ways. Per topic: each
// topic's newest n through (topic_id, received_at, id), merged, which reads K * n index
// entries whatever the table holds. Along time: the (received_at, id) index from the
// page's start, skipping other topics' rows, about n * T / K entries when topics are
// alike. Per topic wins when K * K < T. Left to itself PostgreSQL reads the topic index
// for every matching row and sorts them, at a cost that grows with the table.
//
// plan_topic_set runs one short statement on the caller's connection; choose_per_topic
// is pure. Safe from any thread that owns its connection.
#pragma once

#include <cstdint>
#include <vector>

#include "message_query.h"
#include "pg_connection.h"

namespace culex {

enum class TopicSetWay {
    kAsIs,       // no wildcard filter nor LIKE pattern: the selection's SQL serves
    kNone,       // no topic matches: the page is empty
    kPerTopic,   // each of topic_ids read newest first and merged
    kAlongTime,  // the time index, topics checked row by row
};

struct TopicSetPlan {
    TopicSetWay way = TopicSetWay::kAsIs;
    std::vector<int32_t> topic_ids;  // kPerTopic: the matching topics
};

// The most topics a per-topic read merges.
constexpr size_t kMaxPerTopic = 1024;

// Whether `matching` of `total` topics are read faster one by one.
bool choose_per_topic(size_t matching, double total);

PgOutcome plan_topic_set(PgConnection& db, const MessageSelection& selection, TopicSetPlan& plan);

}  // namespace culex
