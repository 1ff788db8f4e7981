// A message as Culex stores it: one MQTT PUBLISH, copied out of the broker.
//
// The broker thread creates a Message in its MESSAGE callback and moves it into the
// ingest queue; from then on the storage writer owns it. A Message holds copies of
// everything, so it never points into broker memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace culex {

struct Message {
    std::string topic;      // UTF-8, validated by the broker, never empty
    std::string payload;    // raw bytes; may contain NUL bytes or be empty
    std::string client_id;  // publisher's client id
    std::string username;   // publisher's username; meaningful only if has_username
    bool has_username = false;
    uint8_t qos = 0;
    bool retain = false;
    // Position in this broker process's arrival order. Together with received_us it
    // identifies the message, so a batch written twice is recognised.
    uint64_t seq = 0;
    // Broker receive time, microseconds since the Unix epoch (CLOCK_REALTIME).
    int64_t received_us = 0;

    // Approximate memory the message holds, for the queue's byte bound.
    size_t footprint() const {
        return sizeof(Message) + topic.size() + payload.size() + client_id.size() + username.size();
    }
};

}  // namespace culex
