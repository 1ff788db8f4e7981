// A rule as Culex runs it: a name, an MQTT topic filter, payload tests and the actions
// to take for each stored message that matches, parsed from the JSON the API accepts
// and the database keeps. parse_rule is the one place a definition is validated: the
// API refuses what it refuses (the message is a 400 detail), and a row that no longer
// parses is skipped with a log line when rules are loaded.
// Immutable once parsed; safe to share between threads.
#pragma once

#include <rapidjson/document.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/payload_condition.h"
#include "common/status.h"
#include "message_template.h"
#include "storage/delivery_store.h"
#include "storage/rule_store.h"
#include "target_policy.h"

namespace culex {

// One action of a rule; each match makes one delivery of its kind (an SMS action, one
// per recipient).
struct RuleAction {
    DeliveryKind kind = DeliveryKind::kWebhook;
    // webhook
    std::string method = "POST";
    std::string url;
    std::string target;  // host:port, for per-target concurrency
    // The body the book's platform sends (its matched rule rows, each with the message)
    // instead of Culex's own.
    bool book_format = false;
    std::vector<std::pair<std::string, std::string>> headers;
    // republish
    std::optional<MessageTemplate> topic;
    std::optional<MessageTemplate> payload;
    int qos = 0;
    bool retain = false;
    // e-mail and SMS
    std::vector<std::string> to;
    std::optional<MessageTemplate> subject;
    std::optional<MessageTemplate> text;
};

struct Rule {
    int64_t id = 0;
    std::string name;
    bool enabled = true;
    std::string topic_filter;
    // SQL LIKE pattern the topic must also match (the book's topicPattern).
    std::optional<std::string> topic_like;
    PayloadCondition condition;
    std::vector<RuleAction> actions;
    std::optional<std::string> secret;
    // The definition as stored (normalised JSON): condition and actions.
    std::string condition_json;
    std::string actions_json;
};

// Fields of a rule definition, as the API accepts them.
inline constexpr const char* kRuleFields[] = {"name",       "enabled", "topic_filter",
                                              "topic_like", "where",   "contains",
                                              "like",       "actions", "secret"};

// Parses a definition object (the fields above; unknown ones are refused). Webhook URLs
// must be http(s) and, with a policy, not aimed at a target it refuses by name or address.
Result<Rule> parse_rule(const rapidjson::Value& definition, const TargetPolicy* policy);

// Rebuilds a rule from its stored parts (JSON text of condition and actions).
Result<Rule> rule_from_stored(int64_t id, const std::string& name, bool enabled,
                              const std::string& topic_filter, const std::string& condition_json,
                              const std::string& actions_json,
                              const std::optional<std::string>& secret);

// The rule as culex.rules stores it.
RuleRow to_row(const Rule& rule);

}  // namespace culex
