// An MQTT 5 subscriber for integration tests that keeps every message it receives,
// with its user properties and content type. Its network loop runs in libmosquitto's
// thread; the accessors are safe from the test thread.
#pragma once

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "process.h"

namespace culex::test {

struct Received {
    std::string topic;
    std::string payload;
    int qos = 0;
    bool retain = false;
    std::vector<std::pair<std::string, std::string>> user_properties;
    std::string content_type;
};

// An MQTT 5 subscriber that keeps what it receives.
class Subscriber {
  public:
    // Connects and subscribes to `filter` with QoS 2; REQUIREs that both work.
    Subscriber(int port, const std::string& filter) {
        mosquitto_lib_init();
        mosq_ = mosquitto_new(nullptr, true, this);
        REQUIRE(mosq_ != nullptr);
        mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
        mosquitto_subscribe_callback_set(mosq_, [](mosquitto*, void* self, int, int, const int*) {
            static_cast<Subscriber*>(self)->subscribed_ = true;
        });
        mosquitto_message_v5_callback_set(mosq_, on_message);
        REQUIRE(mosquitto_connect(mosq_, "127.0.0.1", port, 60) == MOSQ_ERR_SUCCESS);
        REQUIRE(mosquitto_loop_start(mosq_) == MOSQ_ERR_SUCCESS);
        REQUIRE(mosquitto_subscribe(mosq_, nullptr, filter.c_str(), 2) == MOSQ_ERR_SUCCESS);
        REQUIRE(wait_until([this] { return subscribed_.load(); }, std::chrono::seconds(10)));
    }
    ~Subscriber() {
        mosquitto_disconnect(mosq_);
        mosquitto_loop_stop(mosq_, false);
        mosquitto_destroy(mosq_);
    }
    std::vector<Received> received() {
        std::lock_guard<std::mutex> lock(mu_);
        return received_;
    }
    size_t count() {
        std::lock_guard<std::mutex> lock(mu_);
        return received_.size();
    }

  private:
    static void on_message(mosquitto*, void* self, const mosquitto_message* m,
                           const mosquitto_property* props) {
        Received r;
        r.topic = m->topic;
        r.payload.assign(static_cast<const char*>(m->payload), static_cast<size_t>(m->payloadlen));
        r.qos = m->qos;
        r.retain = m->retain;
        for (const mosquitto_property* p = props; p != nullptr; p = mosquitto_property_next(p)) {
            if (mosquitto_property_identifier(p) == MQTT_PROP_USER_PROPERTY) {
                char* name = nullptr;
                char* value = nullptr;
                mosquitto_property_read_string_pair(p, MQTT_PROP_USER_PROPERTY, &name, &value,
                                                    false);
                r.user_properties.emplace_back(name, value);
                free(name);
                free(value);
            } else if (mosquitto_property_identifier(p) == MQTT_PROP_CONTENT_TYPE) {
                char* value = nullptr;
                mosquitto_property_read_string(p, MQTT_PROP_CONTENT_TYPE, &value, false);
                r.content_type = value;
                free(value);
            }
        }
        auto* s = static_cast<Subscriber*>(self);
        std::lock_guard<std::mutex> lock(s->mu_);
        s->received_.push_back(std::move(r));
    }

    mosquitto* mosq_ = nullptr;
    std::atomic<bool> subscribed_{false};
    std::mutex mu_;
    std::vector<Received> received_;
};

}  // namespace culex::test
