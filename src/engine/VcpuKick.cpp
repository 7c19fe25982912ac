#include "engine/VcpuKick.h"

#include "util/Error.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <mutex>

namespace cxvm::engine {

namespace {
void ignoreKick(int) {}
}  // namespace

int vcpuKickSignal() {
    static const int sig = [] {
        const int s = SIGRTMIN + 2;
        struct sigaction sa{};
        sa.sa_handler = ignoreKick;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        if (::sigaction(s, &sa, nullptr) != 0) throwErrno("sigaction(vCPU kick signal)");
        return s;
    }();
    return sig;
}

void kickThread(pthread_t thread) { ::pthread_kill(thread, vcpuKickSignal()); }

SliceTimer::SliceTimer() : thread_(::pthread_self()) {
    sigevent ev{};  // glibc 2.36 names the thread id only as _sigev_un._tid
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev.sigev_signo = vcpuKickSignal();
    ev._sigev_un._tid = static_cast<pid_t>(::syscall(SYS_gettid));
    if (::timer_create(CLOCK_MONOTONIC, &ev, &timer_) != 0) throwErrno("timer_create(vCPU slice)");
}

SliceTimer::~SliceTimer() { ::timer_delete(timer_); }

void SliceTimer::arm(std::chrono::nanoseconds after) {
    itimerspec t{};
    const auto ns = std::max<std::int64_t>(after.count(), 1);
    t.it_value.tv_sec = ns / 1'000'000'000;
    t.it_value.tv_nsec = ns % 1'000'000'000;
    if (::timer_settime(timer_, 0, &t, nullptr) != 0) throwErrno("timer_settime(vCPU slice)");
}

void SliceTimer::disarm() {
    itimerspec t{};
    ::timer_settime(timer_, 0, &t, nullptr);
}

}  // namespace cxvm::engine
