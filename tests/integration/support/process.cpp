#include "process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace culex::test {
namespace {

int decode_status(int status) {
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

// The lowest port the kernel hands out for outgoing connections. A port from that range
// can be taken as a client's local port by any process making connections (parallel
// tests do, by thousands) between free_port's check and the listener's bind, so
// listeners get ports below it.
int ephemeral_low() {
    std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
    int low = 0;
    return range >> low ? low : 0;
}

sockaddr_in loopback(int port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    return addr;
}

// Whether `port` (0: any) can be bound on 127.0.0.1 now; the bound port when it can.
int try_bind(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr = loopback(port);
    int bound = 0;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
        socklen_t len = sizeof addr;
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
        bound = ntohs(addr.sin_port);
    }
    close(fd);
    return bound;
}

}  // namespace

Process::Process(std::vector<std::string> argv, std::string log_path, std::string run_as) {
    struct passwd* pw = nullptr;
    if (!run_as.empty() && geteuid() == 0) {
        pw = getpwnam(run_as.c_str());
        if (pw == nullptr)
            throw std::runtime_error("no user " + run_as);
    }
    pid_ = fork();
    if (pid_ < 0)
        throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, 0);
        // The test binary may block signals in threads; the child starts clean.
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        setpgid(0, 0);
        if (pw != nullptr) {
            if (setgid(pw->pw_gid) != 0 || initgroups(pw->pw_name, pw->pw_gid) != 0 ||
                setuid(pw->pw_uid) != 0) {
                _exit(126);
            }
        }
        std::vector<char*> args;
        for (auto& a : argv)
            args.push_back(a.data());
        args.push_back(nullptr);
        execvp(args[0], args.data());
        _exit(127);
    }
}

Process::~Process() {
    if (running()) {
        signal(SIGKILL);
        wait(std::chrono::seconds(10));
    }
}

bool Process::running() {
    if (exit_status_ || pid_ <= 0)
        return false;
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
        exit_status_ = decode_status(status);
        return false;
    }
    return true;
}

void Process::signal(int sig) {
    if (running())
        kill(pid_, sig);
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
    wait_until([this] { return !running(); }, timeout);
    return exit_status_;
}

int run_command(const std::vector<std::string>& argv, const std::string& log_path,
                const std::string& run_as, std::chrono::milliseconds timeout) {
    Process p(argv, log_path, run_as);
    auto status = p.wait(timeout);
    return status ? *status : -1;
}

int free_port() {
    constexpr int kFirst = 10000;
    const int low = ephemeral_low();
    if (low > kFirst + 1000) {
        // Random, so that test processes running side by side rarely try the same one.
        static std::minstd_rand rng(std::random_device{}());
        std::uniform_int_distribution<int> pick(kFirst, low - 1);
        for (int attempt = 0; attempt < 200; ++attempt) {
            if (const int port = try_bind(pick(rng)); port != 0)
                return port;
        }
    }
    if (const int port = try_bind(0); port != 0)
        return port;
    throw std::runtime_error("cannot bind a free port");
}

bool port_open(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    const sockaddr_in addr = loopback(port);
    bool ok = connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    return ok;
}

std::string make_temp_dir(const std::string& prefix) {
    std::string templ = "/tmp/" + prefix + "-XXXXXX";
    if (mkdtemp(templ.data()) == nullptr)
        throw std::runtime_error("mkdtemp failed");
    chmod(templ.c_str(), 0755);
    return templ;
}

void remove_tree(const std::string& path) {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void chown_to(const std::string& path, const std::string& user) {
    if (geteuid() != 0)
        return;
    struct passwd* pw = getpwnam(user.c_str());
    if (pw == nullptr)
        throw std::runtime_error("no user " + user);
    for (auto& entry : std::filesystem::recursive_directory_iterator(path)) {
        if (lchown(entry.path().c_str(), pw->pw_uid, pw->pw_gid) != 0) {
            throw std::runtime_error("chown failed");
        }
    }
    if (chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0)
        throw std::runtime_error("chown failed");
}

}  // namespace culex::test
