#pragma once
// Time for devices. One Clock drives PIT, RTC and TSC (docs: architecture.md). In
// real-time mode it follows the host's monotonic clock; with --deterministic it is
// derived from retired guest instructions, so the same inputs give the same output.
#include <cstdint>
#include <limits>

namespace cxvm::hw {

class Clock {
public:
    virtual ~Clock() = default;
    // Nanoseconds since the VM started. Monotonic; may be read from I/O handlers in the
    // middle of a vCPU slice (the deterministic clock reads the live instruction count).
    [[nodiscard]] virtual std::uint64_t nowNs() const = 0;
};

// A device with time-based behaviour (PIT, RTC, UART transmit timing...). The VMM loop
// calls advanceTo() after every vCPU slice and sizes slices by nextDeadlineNs().
class TimedDevice {
public:
    static constexpr std::uint64_t kNever = std::numeric_limits<std::uint64_t>::max();
    virtual ~TimedDevice() = default;
    // Raise whatever became due up to `nowNs` (interrupts, status bits).
    virtual void advanceTo(std::uint64_t nowNs) = 0;
    // The next time something becomes due, or kNever.
    [[nodiscard]] virtual std::uint64_t nextDeadlineNs() const = 0;
};

}  // namespace cxvm::hw
