// Culex's threads lower themselves relative to the priority they start with.
#include <catch2/catch.hpp>

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <string>

#include "common/worker_thread.h"

using namespace culex;

namespace {

struct Seen {
    int nice = -100;
    int policy = -1;
    std::string name;
};

size_t lines_logged(LogQueue& log) {
    size_t n = 0;
    log.drain([&n](LogLevel, const std::string&) { ++n; });
    return n;
}

int own_nice() {
    return getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
}

// Runs a worker thread that starts at nice `start` and reports what it ran with.
Seen run_worker(int start, WorkerPriority priority, LogQueue& log) {
    Seen seen;
    std::thread outer([&] {
        // A thread inherits the nice value of the one that creates it.
        setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), start);
        std::thread worker = start_worker_thread("culex-test", priority, log, [&] {
            seen.nice = own_nice();
            seen.policy = sched_getscheduler(0);
            char name[16] = {};
            pthread_getname_np(pthread_self(), name, sizeof name);
            seen.name = name;
        });
        worker.join();
    });
    outer.join();
    return seen;
}

}  // namespace

TEST_CASE("a worker thread adds worker_nice to the nice it starts with", "[worker_thread]") {
    LogQueue log;
    Seen seen = run_worker(3, WorkerPriority{7, false}, log);
    CHECK(seen.nice == 10);
    CHECK(seen.policy == SCHED_OTHER);
    CHECK(seen.name == "culex-test");
    CHECK(lines_logged(log) == 0);
}

TEST_CASE("a worker thread's nice stops at 19", "[worker_thread]") {
    LogQueue log;
    CHECK(run_worker(15, WorkerPriority{19, false}, log).nice == 19);
    CHECK(run_worker(19, WorkerPriority{1, false}, log).nice == 19);
    CHECK(lines_logged(log) == 0);
}

TEST_CASE("worker_sched batch makes a worker thread SCHED_BATCH; the default changes nothing",
          "[worker_thread]") {
    LogQueue log;
    Seen batch = run_worker(0, WorkerPriority{0, true}, log);
    CHECK(batch.policy == SCHED_BATCH);
    CHECK(batch.nice == 0);
    Seen plain = run_worker(2, WorkerPriority{}, log);
    CHECK(plain.policy == SCHED_OTHER);
    CHECK(plain.nice == 2);
    CHECK(lines_logged(log) == 0);
}
