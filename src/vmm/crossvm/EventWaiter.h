#pragma once
// Watches the consumed events' eventfds without stalling the vCPU: one host thread in
// poll(2) over all of them (plus a stop eventfd). When the native side signals, it
// reads the eventfd (resetting its counter: many signals, one event), latches the event
// in CrossVmEvents and calls `kick` so that the VM thread delivers it at once rather
// than at the end of its slice or idle wait. Nothing is allocated per event.
//
// The eventfds are read only here: another reader of the same eventfd could take a
// count between poll and read, and this thread's read would then block until the next
// signal (the fds are the system layer's, so their O_NONBLOCK flag is not ours to set).
#include "util/UniqueFd.h"
#include "vmm/crossvm/CrossVmEvents.h"

#include <functional>
#include <thread>

namespace cxvm::vmm::crossvm {

class EventWaiter {
public:
    using Kick = std::function<void()>;  // thread-safe, called from the waiter thread

    // Starts the thread (none when there are no consumed events).
    EventWaiter(CrossVmEvents& events, Kick kick);
    // Stops and joins the thread.
    ~EventWaiter();
    EventWaiter(const EventWaiter&) = delete;
    EventWaiter& operator=(const EventWaiter&) = delete;

private:
    void run();

    CrossVmEvents& events_;
    Kick kick_;
    UniqueFd stop_;
    std::thread thread_;
};

}  // namespace cxvm::vmm::crossvm
