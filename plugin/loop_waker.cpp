#include "loop_waker.h"

#include <signal.h>

#include <cstring>

namespace culex {
namespace {

void ignore_wake(int) {}

}  // namespace

Status LoopWaker::install() {
    struct sigaction action {};
    action.sa_handler = ignore_wake;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;  // no SA_RESTART: epoll_wait must return with EINTR
    if (sigaction(SIGURG, &action, nullptr) != 0)
        return Status::error(std::string("cannot install the loop wake-up: ") +
                             std::strerror(errno));
    broker_thread_ = pthread_self();
    installed_ = true;
    return Status::ok();
}

void LoopWaker::wake() const {
    if (installed_)
        pthread_kill(broker_thread_, SIGURG);
}

}  // namespace culex
