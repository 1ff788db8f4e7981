// Child processes for integration tests: spawn with output to a file, signal, wait.
// Test-thread only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace culex::test {

class Process {
  public:
    // Starts argv[0] (looked up in PATH) with stdout and stderr appended to log_path.
    // With run_as set and the test running as root, the child switches to that user.
    Process(std::vector<std::string> argv, std::string log_path, std::string run_as = "");
    ~Process();  // SIGKILLs a child that is still running
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    pid_t pid() const { return pid_; }
    bool running();
    void signal(int sig);
    // Waits for exit; returns the exit status (128+signal if killed), or nullopt on timeout.
    std::optional<int> wait(std::chrono::milliseconds timeout);

  private:
    pid_t pid_ = -1;
    std::optional<int> exit_status_;
};

// Runs a command to completion (bounded by timeout) and returns its exit status.
int run_command(const std::vector<std::string>& argv, const std::string& log_path,
                const std::string& run_as = "",
                std::chrono::milliseconds timeout = std::chrono::seconds(120));

// A TCP port on 127.0.0.1 that was free a moment ago, below the range the kernel takes
// outgoing connections' local ports from (so no client can take it meanwhile).
int free_port();
// True when something accepts TCP connections on 127.0.0.1:port.
bool port_open(int port);
// A fresh directory under /tmp, removed by remove_tree.
std::string make_temp_dir(const std::string& prefix);
void remove_tree(const std::string& path);
std::string read_file(const std::string& path);
void chown_to(const std::string& path, const std::string& user);

// Polls `condition` every 20 ms until true or `timeout`; returns its last value.
template <typename Condition>
bool wait_until(Condition condition, std::chrono::milliseconds timeout);

}  // namespace culex::test

#include "wait_until.inl"
