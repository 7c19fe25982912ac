#pragma once
// The guest TSC, derived from the one device Clock so PIT, RTC and TSC agree (Linux
// calibrates the TSC against PIT channel 2 and must find exactly this frequency).
// The CPU's rdtsc returns ticksAt(clock.nowNs()) plus its IA32_TSC offset.
#include "hw/MulDiv.h"

#include <cstdint>

namespace cxvm::hw {

class TscFrequency {
public:
    static constexpr std::uint64_t kDefaultHz = 1'000'000'000;  // 1 GHz
    explicit constexpr TscFrequency(std::uint64_t hz = kDefaultHz) : hz_(hz == 0 ? kDefaultHz : hz) {}

    [[nodiscard]] constexpr std::uint64_t hz() const { return hz_; }
    [[nodiscard]] constexpr std::uint64_t ticksAt(std::uint64_t ns) const { return mulDiv(ns, hz_, 1'000'000'000); }
    // First ns at which the TSC reaches `ticks` (e.g. TSC-deadline timers).
    [[nodiscard]] constexpr std::uint64_t nsForTicks(std::uint64_t ticks) const {
        return mulDivCeil(ticks, 1'000'000'000, hz_);
    }

private:
    std::uint64_t hz_;
};

}  // namespace cxvm::hw
