// The real mosquitto broker for integration tests, on a free 127.0.0.1 port, with
// culex.so loaded (or not) and the given plugin options. Test-thread only.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "process.h"

namespace culex::test {

using PluginOpts = std::vector<std::pair<std::string, std::string>>;

class BrokerProcess {
  public:
    // Starts mosquitto; with_plugin=false runs the same broker without culex.
    // `global_conf` lines go before the listener (e.g. per_listener_settings), `tail_conf`
    // lines at the end, after the plugin's (e.g. a bridge's `connection` section).
    explicit BrokerProcess(const PluginOpts& plugin_opts, bool with_plugin = true,
                           const std::string& global_conf = "", const std::string& tail_conf = "");
    ~BrokerProcess();
    BrokerProcess(const BrokerProcess&) = delete;
    BrokerProcess& operator=(const BrokerProcess&) = delete;

    // Waits until the listener accepts connections (plugin init has then run) or the
    // broker exits. True when it is up.
    bool wait_ready();
    int port() const { return port_; }
    Process& process() { return *process_; }
    std::string log() const;
    // SIGTERM and wait; returns the exit status, or nullopt on timeout.
    std::optional<int> terminate(std::chrono::milliseconds timeout);
    // SIGKILL and wait: a crash.
    void kill();
    // Starts the broker again after it exited, with the same configuration and port.
    void restart();

  private:
    void spawn();

    std::string dir_;
    int port_ = 0;
    std::unique_ptr<Process> process_;
};

}  // namespace culex::test
