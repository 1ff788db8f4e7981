#include "worker_thread.h"

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>

namespace culex {

namespace {

constexpr int kLowestNice = 19;

// Empty when done, else the call that failed and why.
std::string lower_calling_thread(const WorkerPriority& priority) {
    const pid_t tid = gettid();
    if (priority.nice > 0) {
        errno = 0;
        const int now = getpriority(PRIO_PROCESS, static_cast<id_t>(tid));
        if (now == -1 && errno != 0)
            return std::string("getpriority: ") + std::strerror(errno);
        const int target = std::min(now + priority.nice, kLowestNice);
        if (target != now && setpriority(PRIO_PROCESS, static_cast<id_t>(tid), target) != 0)
            return std::string("setpriority: ") + std::strerror(errno);
    }
    if (priority.batch) {
        sched_param param{};
        param.sched_priority = 0;
        if (sched_setscheduler(tid, SCHED_BATCH, &param) != 0)
            return std::string("sched_setscheduler(SCHED_BATCH): ") + std::strerror(errno);
    }
    return {};
}

}  // namespace

void enter_worker_thread(const char* name, const WorkerPriority& priority, LogQueue& log) {
    pthread_setname_np(pthread_self(), name);
    const std::string failed = lower_calling_thread(priority);
    static std::atomic<bool> warned{false};
    if (!failed.empty() && !warned.exchange(true))
        log.printf(LogLevel::kWarning,
                   "culex: cannot lower the priority of thread %s (%s); Culex's threads run "
                   "at the broker's priority. Check plugin_opt_worker_nice and "
                   "plugin_opt_worker_sched.",
                   name, failed.c_str());
}

std::thread start_worker_thread(const char* name, const WorkerPriority& priority, LogQueue& log,
                                std::function<void()> body) {
    return std::thread([name, priority, &log, body = std::move(body)] {
        enter_worker_thread(name, priority, log);
        body();
    });
}

}  // namespace culex
