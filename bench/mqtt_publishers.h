// MQTT 3.1.1 publishers for the load tools: many connections, each written straight to
// its socket from an epoll loop, a tick's messages in one write. A load generator that
// wakes a thread and makes several system calls per message (libmosquitto's threaded
// loop) takes most of a core at 20,000 msg/s on this 2-core machine, away from the
// broker and PostgreSQL it is measuring; this one takes a small part of that, and it
// holds 10,000 connections.
//
// Each connection publishes its messages at its share of the rate (or as fast as its
// socket takes them), at most 1,024 QoS 1 messages unacknowledged, then a QoS 1
// "fence" on fence_topic: the broker handles a connection's packets in order, so the
// fence's PUBACK means it has received everything before. PUBACK latency is measured
// from the moment a message is written into the connection's buffer.
//
// Used from one thread: connect(), then run() once; the results after run().
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace bench {

struct PublishPlan {
    int port = 1883;
    int connections = 4;
    long messages_per_connection = 0;
    double rate_per_connection = 0;  // messages per second; 0: as fast as the socket goes
    int qos = 0;                     // 0 or 1
    int threads = 1;                 // epoll loops, each with its share of the connections
    std::string client_prefix = "bench-";
    std::string fence_topic = "bench/fence";
    // Fills message `seq` of connection `connection`.
    std::function<void(int connection, long seq, std::string& topic, std::string& payload)> message;
};

struct PublishResults {
    std::vector<long> acked;                          // per connection: QoS 1 messages acknowledged
    std::vector<double> puback_ms;                    // every QoS 1 message's, the fences' excepted
    std::chrono::steady_clock::time_point started{};  // the first message written
    std::chrono::steady_clock::time_point finished{};  // the last fence acknowledged
    int lost_connections = 0;                          // closed before their fence was acknowledged
};

// Connects every connection (CONNECT, clean session, no keepalive) and waits for its
// CONNACK. False, with `error` saying why, when any fails within 60 s.
bool connect_publishers(const PublishPlan& plan, std::vector<int>& sockets, std::string& error);

// Publishes the plan over `sockets` (from connect_publishers, closed at the end) until
// every fence is acknowledged or every connection is lost, or `stop` is set.
PublishResults run_publishers(const PublishPlan& plan, std::vector<int>& sockets,
                              const std::atomic<bool>& stop);

}  // namespace bench
