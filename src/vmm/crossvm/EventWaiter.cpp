#include "vmm/crossvm/EventWaiter.h"

#include "util/Error.h"
#include "util/Log.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace cxvm::vmm::crossvm {

EventWaiter::EventWaiter(CrossVmEvents& events, Kick kick) : events_(events), kick_(std::move(kick)) {
    if (events_.consumes().empty()) return;
    stop_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!stop_) throwErrno("crossvm: eventfd(waiter stop)");
    // The waiter takes no host signals: they belong to the VM thread (stop signals make
    // its idle wait return; the kvm kick signal targets the vCPU thread by id anyway).
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    try {
        thread_ = std::thread([this] { run(); });
    } catch (...) {
        pthread_sigmask(SIG_SETMASK, &old, nullptr);
        throw;
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

EventWaiter::~EventWaiter() {
    if (!thread_.joinable()) return;
    const std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(stop_.get(), &one, sizeof one);
    thread_.join();
}

void EventWaiter::run() {
    const auto& consumes = events_.consumes();
    // Built once: [0] the stop fd, [1 + i] consumed event i.
    std::vector<pollfd> fds(consumes.size() + 1);
    fds[0] = {stop_.get(), POLLIN, 0};
    for (std::size_t i = 0; i < consumes.size(); ++i) fds[i + 1] = {consumes[i].eventfd, POLLIN, 0};
    for (;;) {
        const int r = ::poll(fds.data(), fds.size(), -1);
        if (r < 0) {
            if (errno == EINTR) continue;
            log::error("crossvm: waiting for consumed events failed: {}; no more events reach the guest",
                       std::strerror(errno));
            return;
        }
        if (fds[0].revents) return;
        bool any = false;
        for (std::size_t i = 0; i < consumes.size(); ++i) {
            pollfd& p = fds[i + 1];
            if (p.revents & POLLIN) {
                std::uint64_t count;
                if (::read(p.fd, &count, sizeof count) == sizeof count) {
                    events_.latch(i);
                    any = true;
                }
            } else if (p.revents & (POLLERR | POLLHUP | POLLNVAL)) {
                log::error("crossvm: consumed event {}: its eventfd failed (poll revents {:#x}); "
                           "no longer watched",
                           consumes[i].name, p.revents);
                p.fd = -1;  // poll ignores negative fds
            }
        }
        if (any) kick_();
    }
}

}  // namespace cxvm::vmm::crossvm
