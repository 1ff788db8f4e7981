// Wakes the broker's main loop from another thread, so that a tick (and the outbox
// drain it runs) happens now rather than after the loop's idle wait of up to 100 ms.
//
// It sends SIGURG to the broker thread, with a handler that does nothing: the signal
// interrupts epoll_wait (EINTR), which mosquitto treats as an empty wake-up. SIGURG
// is only raised by the kernel for TCP urgent data, which MQTT never uses. This needs
// no listener, no credentials and no extra connection, unlike waking the loop with a
// loopback MQTT client. Worker threads block all signals, so only the broker thread
// ever runs the handler.
#pragma once

#include <pthread.h>

#include "common/status.h"

namespace culex {

class LoopWaker {
  public:
    // Broker thread, at plugin init: installs the handler and remembers the thread.
    Status install();
    // Any thread.
    void wake() const;

  private:
    pthread_t broker_thread_{};
    bool installed_ = false;
};

}  // namespace culex
