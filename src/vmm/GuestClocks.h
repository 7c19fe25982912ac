#pragma once
// The two clocks a VM can run on (one Clock drives PIT, RTC and TSC).
//  - HostClock: guest time follows the host's monotonic clock (normal use).
//  - InstructionClock (--deterministic): guest time is retired instructions times a
//    fixed period, plus the time skipped while the guest halts. Nothing of the host's
//    timing leaks in, so the same inputs give byte-identical console output.
#include "hw/Clock.h"

#include <chrono>
#include <cstdint>

namespace cxvm::engine {
class Vcpu;
}

namespace cxvm::vmm {

class HostClock final : public hw::Clock {
public:
    HostClock() : start_(std::chrono::steady_clock::now()) {}
    [[nodiscard]] std::uint64_t nowNs() const override {
        return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                              std::chrono::steady_clock::now() - start_)
                                              .count());
    }

private:
    std::chrono::steady_clock::time_point start_;
};

class InstructionClock final : public hw::Clock {
public:
    // 1 ns per instruction: a nominal 1000 MIPS CPU. The kernel calibrates its delay
    // loops against this same clock, so the value only sets how much guest time a
    // given amount of work takes, not correctness.
    static constexpr std::uint64_t kDefaultNsPerInstruction = 1;

    explicit InstructionClock(std::uint64_t nsPerInstruction = kDefaultNsPerInstruction)
        : nsPerInstruction_(nsPerInstruction) {}

    // The vCPU whose instructions count; until set, time stands still (only idle skips).
    void attach(const engine::Vcpu* vcpu) { vcpu_ = vcpu; }
    [[nodiscard]] std::uint64_t nowNs() const override;
    // A halted guest: jump time forward to `ns` (the next device deadline).
    void skipTo(std::uint64_t ns);
    // Instructions until guest time reaches `ns` (at least 1).
    [[nodiscard]] std::uint64_t instructionsUntil(std::uint64_t ns) const;

private:
    const engine::Vcpu* vcpu_ = nullptr;
    std::uint64_t nsPerInstruction_;
    std::uint64_t skippedNs_ = 0;
};

}  // namespace cxvm::vmm
