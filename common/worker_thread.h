// Culex's own threads (the writer, the matcher, the dispatcher, the HTTP workers and
// front end, the maintenance, the replica watcher, the timestamp) and the priority they
// run at. The broker thread is the one whose latency devices see; on a machine where
// PostgreSQL shares its cores, Culex's threads taking a core from it shows in the PUBACK
// tail (docs/benchmarks.md). Linux keeps a nice value and a scheduling policy per
// thread, so these threads can run below the broker thread while it keeps its own.
//
// Any thread may call these. Lowering a priority needs no privilege; when the system
// refuses anyway (a seccomp filter, say) the thread runs as it was and one warning in
// the process's life says so.
#pragma once

#include <functional>
#include <thread>

#include "config.h"
#include "log.h"

namespace culex {

// Lowers the calling thread by `priority` (nice added to its own, capped at 19; then
// SCHED_BATCH if asked) and names it `name` (at most 15 characters: shown by top -H,
// ps -L and perf). A failure is logged once per process through `log`.
void enter_worker_thread(const char* name, const WorkerPriority& priority, LogQueue& log);

// A new thread that enters as above, then runs `body`. The thread inherits the caller's
// signal mask, as std::thread's do.
std::thread start_worker_thread(const char* name, const WorkerPriority& priority, LogQueue& log,
                                std::function<void()> body);

}  // namespace culex
