#include "hw/HostClock.h"

#include <ctime>

namespace cxvm::hw {

namespace {
std::uint64_t monotonicNs() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);  // cannot fail for CLOCK_MONOTONIC
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}
}  // namespace

HostClock::HostClock() : startNs_(monotonicNs()) {}

std::uint64_t HostClock::nowNs() const { return monotonicNs() - startNs_; }

}  // namespace cxvm::hw
