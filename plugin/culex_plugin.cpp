// Mosquitto v5 plugin entry points: thin C functions that parse options, register the
// broker callbacks and hand everything else to Platform. Nothing throws past here.
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
#include <mqtt_protocol.h>
#include <unistd.h>

#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "options.h"
#include "platform.h"

namespace {

using culex::LogLevel;
using culex::SteadyClock;

struct PluginState {
    mosquitto_plugin_id_t* id = nullptr;
    std::unique_ptr<culex::Platform> platform;
    SteadyClock::time_point started = SteadyClock::now();
    bool saw_tick = false;
    bool warned_no_tick = false;
};

int mosquitto_level(LogLevel level) {
    switch (level) {
        case LogLevel::kDebug:
            return MOSQ_LOG_DEBUG;
        case LogLevel::kInfo:
            return MOSQ_LOG_INFO;
        case LogLevel::kNotice:
            return MOSQ_LOG_NOTICE;
        case LogLevel::kWarning:
            return MOSQ_LOG_WARNING;
        case LogLevel::kError:
            return MOSQ_LOG_ERR;
    }
    return MOSQ_LOG_INFO;
}

void drain_log(culex::Platform& platform) {
    platform.log().drain([](LogLevel level, const std::string& line) {
        mosquitto_log_printf(mosquitto_level(level), "%s", line.c_str());
    });
}

// Worker threads' log lines reach the broker log only through tick or message events.
// Mosquitto 2.0.11 never sends MOSQ_EVT_TICK when per_listener_settings is true; say
// so once instead of leaving the admin to wonder where the log lines went.
void warn_if_no_ticks(PluginState& state) {
    if (state.saw_tick || state.warned_no_tick)
        return;
    if (SteadyClock::now() - state.started < std::chrono::seconds(5))
        return;
    state.warned_no_tick = true;
    mosquitto_log_printf(MOSQ_LOG_WARNING,
                         "culex: the broker sends no tick events (per_listener_settings true?); "
                         "culex log lines appear only when messages arrive. Set "
                         "per_listener_settings false.");
}

int on_message(int /*event*/, void* event_data, void* userdata) {
    auto* event = static_cast<mosquitto_evt_message*>(event_data);
    auto* state = static_cast<PluginState*>(userdata);
    try {
        culex::IncomingPublish publish;
        publish.topic = event->topic;
        publish.payload =
            std::string_view(static_cast<const char*>(event->payload), event->payloadlen);
        const char* client_id = mosquitto_client_id(event->client);
        publish.client_id = client_id != nullptr ? client_id : "";
        if (const char* username = mosquitto_client_username(event->client))
            publish.username = username;
        publish.qos = event->qos;
        publish.retain = event->retain;
        publish.refusable = event->qos > 0 && mosquitto_client_protocol_version(event->client) == 5;
        const culex::IntakeResult result = state->platform->intake().accept(publish);
        warn_if_no_ticks(*state);
        drain_log(*state->platform);
        // Mosquitto answers the PUBLISH with reason code 0x87 and delivers it to no one.
        if (result == culex::IntakeResult::kRefused)
            return MOSQ_ERR_ACL_DENIED;
    } catch (const std::exception& e) {
        // Out of memory while copying: the message goes on to subscribers unstored.
        mosquitto_log_printf(MOSQ_LOG_ERR, "culex: message on '%s' not stored: %s", event->topic,
                             e.what());
    }
    return MOSQ_ERR_SUCCESS;
}

// Broker thread: hands one outbox message to the broker, then stores it, since the
// message event does not fire for what plugins publish.
void publish_from_outbox(culex::Platform& platform, const culex::OutgoingMessage& m) {
    mosquitto_property* properties = nullptr;
    for (const auto& [name, value] : m.user_properties) {
        mosquitto_property_add_string_pair(&properties, MQTT_PROP_USER_PROPERTY, name.c_str(),
                                           value.c_str());
    }
    if (m.content_type)
        mosquitto_property_add_string(&properties, MQTT_PROP_CONTENT_TYPE, m.content_type->c_str());
    if (m.message_expiry_s)
        mosquitto_property_add_int32(&properties, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL,
                                     *m.message_expiry_s);
    const int rc = mosquitto_broker_publish_copy(
        nullptr, m.topic.c_str(), static_cast<int>(m.payload.size()),
        const_cast<char*>(m.payload.data()), m.qos, m.retain, properties);
    if (rc != MOSQ_ERR_SUCCESS) {
        mosquitto_property_free_all(&properties);
        mosquitto_log_printf(MOSQ_LOG_ERR, "culex: cannot publish on '%s': %s", m.topic.c_str(),
                             mosquitto_strerror(rc));
        return;
    }
    if (!m.store)
        return;
    culex::IncomingPublish stored;
    stored.topic = m.topic;
    stored.payload = m.payload;
    stored.client_id = m.client_id;
    if (m.username)
        stored.username = *m.username;
    stored.qos = static_cast<uint8_t>(m.qos);
    stored.retain = m.retain;
    platform.intake().accept(stored);
}

int on_tick(int /*event*/, void* /*event_data*/, void* userdata) {
    auto* state = static_cast<PluginState*>(userdata);
    state->saw_tick = true;
    culex::Platform& platform = *state->platform;
    try {
        platform.outbox().drain(
            [&platform](const culex::OutgoingMessage& m) { publish_from_outbox(platform, m); });
    } catch (const std::exception& e) {
        mosquitto_log_printf(MOSQ_LOG_ERR, "culex: publishing from the plugin failed: %s",
                             e.what());
    }
    drain_log(platform);
    return MOSQ_ERR_SUCCESS;
}

std::string host_name() {
    char name[256] = {};
    if (gethostname(name, sizeof name - 1) != 0)
        return "";
    return name;
}

}  // namespace

// The project builds with hidden visibility; these are the plugin's only exports.
#define CULEX_EXPORT __attribute__((visibility("default")))

extern "C" {

CULEX_EXPORT int mosquitto_plugin_version(int supported_version_count,
                                          const int* supported_versions) {
    for (int i = 0; i < supported_version_count; ++i) {
        if (supported_versions[i] == 5)
            return 5;
    }
    return -1;
}

CULEX_EXPORT int mosquitto_plugin_init(mosquitto_plugin_id_t* identifier, void** userdata,
                                       struct mosquitto_opt* options, int option_count) {
    try {
        std::vector<culex::PluginOption> parsed;
        parsed.reserve(static_cast<size_t>(option_count));
        for (int i = 0; i < option_count; ++i) {
            parsed.push_back({options[i].key != nullptr ? options[i].key : "",
                              options[i].value != nullptr ? options[i].value : ""});
        }
        culex::Result<culex::Config> config = culex::parse_options(parsed, host_name());
        if (!config.is_ok()) {
            mosquitto_log_printf(MOSQ_LOG_ERR, "culex: %s", config.status().message().c_str());
            return MOSQ_ERR_INVAL;
        }
        auto state = std::make_unique<PluginState>();
        state->id = identifier;
        state->platform = std::make_unique<culex::Platform>(std::move(config.value()));
        culex::Status started = state->platform->start();
        if (!started.is_ok()) {
            mosquitto_log_printf(MOSQ_LOG_ERR, "culex: %s", started.message().c_str());
            return MOSQ_ERR_INVAL;
        }
        if (mosquitto_callback_register(identifier, MOSQ_EVT_MESSAGE, on_message, nullptr,
                                        state.get()) != MOSQ_ERR_SUCCESS ||
            mosquitto_callback_register(identifier, MOSQ_EVT_TICK, on_tick, nullptr, state.get()) !=
                MOSQ_ERR_SUCCESS) {
            mosquitto_log_printf(MOSQ_LOG_ERR, "culex: cannot register broker callbacks");
            mosquitto_callback_unregister(identifier, MOSQ_EVT_MESSAGE, on_message, nullptr);
            return MOSQ_ERR_UNKNOWN;
        }
        const culex::Config& c = state->platform->config();
        mosquitto_log_printf(MOSQ_LOG_NOTICE,
                             "culex: storing messages in PostgreSQL as broker '%s' "
                             "(batches of up to %zu rows / %lld ms, queue %zu messages)",
                             c.broker_id.c_str(), c.batch_max_rows,
                             static_cast<long long>(c.batch_max_ms), c.queue_capacity);
        *userdata = state.release();
        return MOSQ_ERR_SUCCESS;
    } catch (const std::exception& e) {
        mosquitto_log_printf(MOSQ_LOG_ERR, "culex: cannot start: %s", e.what());
        return MOSQ_ERR_UNKNOWN;
    }
}

CULEX_EXPORT int mosquitto_plugin_cleanup(void* userdata, struct mosquitto_opt* /*options*/,
                                          int /*option_count*/) {
    std::unique_ptr<PluginState> state(static_cast<PluginState*>(userdata));
    if (!state)
        return MOSQ_ERR_SUCCESS;
    try {
        mosquitto_callback_unregister(state->id, MOSQ_EVT_MESSAGE, on_message, nullptr);
        mosquitto_callback_unregister(state->id, MOSQ_EVT_TICK, on_tick, nullptr);
        mosquitto_log_printf(MOSQ_LOG_NOTICE,
                             "culex: writing %zu queued messages to PostgreSQL before exit "
                             "(waiting at most shutdown_timeout_ms = %lld ms)",
                             state->platform->backlog(),
                             static_cast<long long>(state->platform->config().shutdown_timeout_ms));
        state->platform->stop();
        drain_log(*state->platform);
    } catch (const std::exception& e) {
        mosquitto_log_printf(MOSQ_LOG_ERR, "culex: error while stopping: %s", e.what());
    }
    return MOSQ_ERR_SUCCESS;
}

}  // extern "C"
