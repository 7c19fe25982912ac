#pragma once
// Getting a vCPU thread out of KVM_RUN: a signal sent to that thread makes KVM_RUN
// return EINTR (api.rst 5, "immediate_exit" describes the race-free protocol). The
// signal's handler does nothing; installing it is the one process-wide step, done once.
#include <pthread.h>
#include <time.h>

#include <chrono>

namespace cxvm::engine {

// The real-time signal used to kick vCPU threads (installed with SA_RESTART, so other
// blocking calls on those threads are restarted, while KVM_RUN returns EINTR).
int vcpuKickSignal();

// Sends the kick signal to `thread`.
void kickThread(pthread_t thread);

// A one-shot CLOCK_MONOTONIC timer that kicks the thread that created it: how the kvm
// engine ends a time slice when the guest makes no exit of its own.
class SliceTimer {
public:
    SliceTimer();  // for the calling thread
    ~SliceTimer();
    SliceTimer(const SliceTimer&) = delete;
    SliceTimer& operator=(const SliceTimer&) = delete;

    void arm(std::chrono::nanoseconds after);
    void disarm();
    [[nodiscard]] pthread_t thread() const { return thread_; }

private:
    timer_t timer_{};
    pthread_t thread_;
};

}  // namespace cxvm::engine
