// The message vocabulary every part shares.
//
// A Message is one MQTT PUBLISH copied out of the broker: the broker thread creates it
// in its MESSAGE callback and moves it into the ingest queue, and from then on the
// storage writer owns it. It holds copies of everything, so it never points into broker
// memory. A StoredMessage is a record as the data API, the live stream and rules show
// it: a Message with the broker's name and, once known, its record id.
//
// Every struct that carries a publisher's username carries it as an optional: absent
// when the client gave none, which is not the same as an empty one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace culex {

struct Message {
    std::string topic;      // UTF-8, validated by the broker, never empty
    std::string payload;    // raw bytes; may contain NUL bytes or be empty
    std::string client_id;  // publisher's client id
    std::optional<std::string> username;
    uint8_t qos = 0;
    bool retain = false;
    // Position in this broker process's arrival order. Together with received_us it
    // identifies the message, so a batch written twice is recognised.
    uint64_t seq = 0;
    // Broker receive time, microseconds since the Unix epoch (CLOCK_REALTIME).
    int64_t received_us = 0;
    // The record id, given by the storage writer when it writes the message; 0 before,
    // and when a batch replayed from the spool turned out to be stored by an earlier run
    // (its ids are then not known without a lookup).
    int64_t id = 0;

    // Approximate memory the message holds, for the queue's byte bound.
    size_t footprint() const {
        return sizeof(Message) + topic.size() + payload.size() + client_id.size() +
               (username ? username->size() : 0);
    }
};

struct StoredMessage {
    int64_t id = 0;  // the record id; 0 while it is not known
    std::string topic;
    std::string payload;
    int qos = 0;
    bool retain = false;
    std::string client_id;
    std::optional<std::string> username;
    std::string broker;
    int64_t received_us = 0;
    // The broker's arrival number: with broker and received_us it identifies the record
    // before its id is known (the live stream sends messages before they are committed).
    std::optional<uint64_t> seq;
};

// The record of `m` as broker `broker` stores it, with record id `id` (0: not known).
inline StoredMessage stored_from(const Message& m, const std::string& broker, int64_t id = 0) {
    StoredMessage s;
    s.id = id;
    s.topic = m.topic;
    s.payload = m.payload;
    s.qos = m.qos;
    s.retain = m.retain;
    s.client_id = m.client_id;
    s.username = m.username;
    s.broker = broker;
    s.received_us = m.received_us;
    return s;
}

}  // namespace culex
