// Blocks every signal in the calling thread for the object's lifetime.
//
// Threads inherit the creating thread's mask, so creating worker threads inside a
// SignalBlock keeps SIGINT/SIGTERM/SIGHUP for the broker thread, whose handlers drive
// mosquitto's shutdown and reload.
#pragma once

#include <pthread.h>
#include <signal.h>

namespace culex {

class SignalBlock {
  public:
    SignalBlock() {
        sigset_t all;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &saved_);
    }
    ~SignalBlock() { pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }
    SignalBlock(const SignalBlock&) = delete;
    SignalBlock& operator=(const SignalBlock&) = delete;

  private:
    sigset_t saved_;
};

}  // namespace culex
