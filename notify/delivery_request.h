// What a delivery asks for, as the JSON kept in culex.deliveries.request: built when a
// rule matches (or the API is asked to send e-mail or SMS), read back when it is sent.
// The request holds everything the send needs, so a delivery outlives its rule.
//
//   webhook    {"method", "url", "headers": {..}, "body", "secret"?}
//   republish  {"topic", "payload_base64", "qos", "retain"}
//   email      {"to": [..], "subject", "text"}
//   sms        {"to", "text"}
//
// Pure functions, safe from any thread.
#pragma once

#include <string>
#include <vector>

#include "rule.h"
#include "storage/delivery_store.h"
#include "storage/message_query.h"

namespace culex {

// The webhook body: {"rule": {"id", "name"}, "message": <record as the data API writes it>}.
std::string webhook_body(const Rule& rule, const StoredMessage& m);
// The book platform's webhook body: its matched rule row (id, ruleName, topicPattern,
// payloadPattern, method, webHook, status) in an array, with the message added to it as
// the book's read routes show records.
std::string book_webhook_body(const Rule& rule, const RuleAction& action, const StoredMessage& m);

// One delivery per action (an SMS action: one per recipient).
std::vector<NewDelivery> deliveries_for(const Rule& rule, const StoredMessage& m, int max_attempts);

NewDelivery email_delivery(const std::vector<std::string>& to, const std::string& subject,
                           const std::string& text, int max_attempts);
NewDelivery sms_delivery(const std::string& to, const std::string& text, int max_attempts);

}  // namespace culex
