// Everything one loaded Culex plugin owns, wired together: config, ingest queue,
// intake, writer, log queue and counters. Created in mosquitto_plugin_init and
// destroyed in mosquitto_plugin_cleanup, both on the broker thread. Free of mosquitto
// headers so it can be tested without a broker.
#pragma once

#include "culex/config.h"
#include "culex/log.h"
#include "message_intake.h"
#include "storage/ingest_queue.h"
#include "storage/ingest_stats.h"
#include "storage/ingest_writer.h"
#include "topic_selector.h"

namespace culex {

class Platform {
  public:
    explicit Platform(Config config);
    Platform(const Platform&) = delete;
    Platform& operator=(const Platform&) = delete;

    // Opens the spool and starts the worker threads with all signals blocked. An error
    // (one line naming the option) means nothing was started.
    Status start();
    // Flushes the queue (bounded by shutdown_timeout_ms), stops the threads and logs
    // a summary. Broker thread, after the main loop has ended.
    void stop();

    // Messages accepted but not yet written.
    size_t backlog() const { return writer_.backlog(); }
    MessageIntake& intake() { return intake_; }
    LogQueue& log() { return log_; }
    const IngestStats& stats() const { return stats_; }
    const Config& config() const { return config_; }

  private:
    const Config config_;
    LogQueue log_;
    IngestStats stats_;
    IngestQueue queue_;
    TopicSelector selector_;
    MessageIntake intake_;
    IngestWriter writer_;
};

}  // namespace culex
