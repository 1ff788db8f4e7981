// A device that publishes "<id>:<n>" (n = 0, 1, 2, ...) on topic "<prefix>/<id>" at a set
// rate from its own thread, until stopped or until a publish fails (the broker is gone).
// Owned by the test thread.
#pragma once

#include <atomic>
#include <string>
#include <thread>

#include "mqtt_client.h"

namespace culex::test {

class Publisher {
  public:
    Publisher(int port, std::string prefix, std::string id, int per_second, int qos = 1);
    ~Publisher();
    Publisher(const Publisher&) = delete;
    Publisher& operator=(const Publisher&) = delete;

    void stop();
    long sent() const { return sent_; }
    MqttClient& client() { return client_; }

  private:
    void run(int per_second, int qos);

    MqttClient client_;
    const std::string topic_;
    const std::string id_;
    std::atomic<bool> stopping_{false};
    std::atomic<long> sent_{0};
    std::thread thread_;
};

}  // namespace culex::test
