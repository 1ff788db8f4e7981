#include "mqtt_client.h"

#include <stdexcept>

#include "process.h"

namespace culex::test {
namespace {

struct LibInit {
    LibInit() { mosquitto_lib_init(); }
    ~LibInit() { mosquitto_lib_cleanup(); }
};

}  // namespace

MqttClient::MqttClient(int port, const std::string& client_id, const std::string& username,
                       bool v5) {
    static LibInit lib;
    mosq_ = mosquitto_new(client_id.c_str(), true, this);
    if (mosq_ == nullptr)
        throw std::runtime_error("mosquitto_new failed");
    if (v5)
        mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    if (!username.empty())
        mosquitto_username_pw_set(mosq_, username.c_str(), nullptr);
    // Unlimited in-flight: QoS 0 and QoS 1/2 messages then leave in call order.
    mosquitto_max_inflight_messages_set(mosq_, 0);
    mosquitto_connect_callback_set(mosq_, on_connect);
    mosquitto_publish_v5_callback_set(mosq_, on_publish);
    if (mosquitto_connect(mosq_, "127.0.0.1", port, 60) != MOSQ_ERR_SUCCESS ||
        mosquitto_loop_start(mosq_) != MOSQ_ERR_SUCCESS) {
        throw std::runtime_error("cannot connect to the broker");
    }
    if (!wait_until([this] { return connack_ >= 0; }, std::chrono::seconds(10)) || connack_ != 0) {
        throw std::runtime_error("broker refused the connection");
    }
}

MqttClient::~MqttClient() {
    mosquitto_disconnect(mosq_);
    mosquitto_loop_stop(mosq_, false);
    mosquitto_destroy(mosq_);
}

void MqttClient::on_connect(struct mosquitto*, void* self, int rc) {
    static_cast<MqttClient*>(self)->connack_ = rc;
}

void MqttClient::on_publish(struct mosquitto*, void* self, int, int reason_code,
                            const mosquitto_property*) {
    auto* client = static_cast<MqttClient*>(self);
    // Reason codes from 0x80 are refusals (MQTT 5 only; 3.1.1 acknowledgements carry 0).
    if (reason_code >= 0x80)
        ++client->refused_;
    ++client->acked_;
}

void MqttClient::publish(const std::string& topic, const std::string& payload, int qos,
                         bool retain) {
    ++sent_;
    int rc = mosquitto_publish(mosq_, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                               payload.data(), qos, retain);
    if (rc != MOSQ_ERR_SUCCESS) {
        --sent_;
        throw std::runtime_error(std::string("publish failed: ") + mosquitto_strerror(rc));
    }
}

bool MqttClient::wait_acked(std::chrono::milliseconds timeout) {
    return wait_until([this] { return acked_ >= sent_; }, timeout);
}

}  // namespace culex::test
