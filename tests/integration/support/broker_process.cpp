#include "broker_process.h"

#include <signal.h>
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

namespace culex::test {

BrokerProcess::BrokerProcess(const PluginOpts& plugin_opts, bool with_plugin,
                             const std::string& global_conf, const std::string& tail_conf)
    : dir_(make_temp_dir("culex-broker")), port_(free_port()) {
    std::ofstream conf(dir_ + "/mosquitto.conf");
    conf << global_conf << "listener " << port_ << " 127.0.0.1\n"
         << "allow_anonymous true\n"
         << "persistence false\n"
         << "log_dest stderr\n"
         << "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n";
    if (with_plugin) {
        // mosquitto started as root loads plugins as user `mosquitto`, which may not be
        // able to read the build tree (a checkout under /root); a copy in /tmp it can.
        std::filesystem::copy_file(CULEX_PLUGIN_PATH, dir_ + "/culex.so");
        conf << "plugin " << dir_ << "/culex.so\n";
        for (const auto& [key, value] : plugin_opts)
            conf << "plugin_opt_" << key << " " << value << "\n";
    }
    conf << tail_conf;
    conf.close();
    spawn();
}

void BrokerProcess::spawn() {
    process_ = std::make_unique<Process>(
        std::vector<std::string>{"mosquitto", "-c", dir_ + "/mosquitto.conf"},
        dir_ + "/broker.log");
}

void BrokerProcess::kill() {
    process_->signal(SIGKILL);
    REQUIRE(process_->wait(std::chrono::seconds(30)));
}

void BrokerProcess::restart() {
    REQUIRE_FALSE(process_->running());
    spawn();
}

BrokerProcess::~BrokerProcess() {
    if (process_->running())
        terminate(std::chrono::seconds(30));
    process_.reset();
    remove_tree(dir_);
}

bool BrokerProcess::wait_ready() {
    wait_until([&] { return port_open(port_) || !process_->running(); }, std::chrono::seconds(30));
    bool ready = process_->running() && port_open(port_);
    if (!ready)
        UNSCOPED_INFO("broker log:\n" << log());
    return ready;
}

std::string BrokerProcess::log() const {
    return read_file(dir_ + "/broker.log");
}

std::optional<int> BrokerProcess::terminate(std::chrono::milliseconds timeout) {
    process_->signal(SIGTERM);
    return process_->wait(timeout);
}

}  // namespace culex::test
