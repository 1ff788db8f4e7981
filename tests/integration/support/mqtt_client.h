// A device or app for integration tests: a libmosquitto client with its network loop
// in a background thread. Methods are called from the test thread.
#pragma once

#include <mosquitto.h>

#include <atomic>
#include <chrono>
#include <string>

namespace culex::test {

class MqttClient {
  public:
    // Connects (MQTT v5 when v5 is true, else 3.1.1) and waits for CONNACK; throws on failure.
    MqttClient(int port, const std::string& client_id, const std::string& username = "",
               bool v5 = false);
    ~MqttClient();
    MqttClient(const MqttClient&) = delete;
    MqttClient& operator=(const MqttClient&) = delete;

    // Queues a PUBLISH; the broker's acknowledgement arrives later (see wait_acked).
    void publish(const std::string& topic, const std::string& payload, int qos,
                 bool retain = false);
    // Waits until every PUBLISH so far is acknowledged (QoS 1/2) or written (QoS 0).
    bool wait_acked(std::chrono::milliseconds timeout = std::chrono::seconds(60));
    // PUBLISHes acknowledged so far (QoS 1/2: by the broker; QoS 0: written).
    long acked() const { return acked_; }
    // Of those, the ones an MQTT 5 broker refused (PUBACK/PUBREC reason code 0x80 or more).
    long refused() const { return refused_; }

  private:
    static void on_connect(struct mosquitto*, void* self, int rc);
    static void on_publish(struct mosquitto*, void* self, int mid, int reason_code,
                           const mosquitto_property* properties);

    struct mosquitto* mosq_ = nullptr;
    std::atomic<int> connack_{-1};
    std::atomic<long> sent_{0};
    std::atomic<long> acked_{0};
    std::atomic<long> refused_{0};
};

}  // namespace culex::test
