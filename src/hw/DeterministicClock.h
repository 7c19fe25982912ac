#pragma once
// --deterministic mode: guest time is a pure function of retired guest instructions, so
// the same inputs give the same device timing and byte-identical console output.
//
//   nowNs = retired * psPerInstruction / 1000 + idleNs
//
// psPerInstruction defaults to 1000 (1 ns per instruction: a nominal 1 GIPS guest; with
// the default 1 GHz TSC one TSC tick per instruction). idleNs is time the VMM skipped
// while the vCPU was halted: with no instructions retiring, time would stand still and
// a HLT waiting for the timer would never wake, so on a Halt exit the VMM calls
// skipTo(nextDeadline) instead of sleeping. Both parts only grow, so time is monotonic.
#include "hw/Clock.h"

#include <cstdint>
#include <functional>

namespace cxvm::hw {

class DeterministicClock final : public Clock {
public:
    using InstructionCounter = std::function<std::uint64_t()>;
    static constexpr std::uint32_t kDefaultPsPerInstruction = 1000;

    // `retired` returns the vCPU's live retired-instruction count (Vcpu::instructionsRetired).
    explicit DeterministicClock(InstructionCounter retired,
                                std::uint32_t psPerInstruction = kDefaultPsPerInstruction);

    [[nodiscard]] std::uint64_t nowNs() const override;
    // Moves time forward to at least `ns` without retiring instructions (halted vCPU).
    void skipTo(std::uint64_t ns);
    [[nodiscard]] std::uint32_t psPerInstruction() const { return psPerInstruction_; }

private:
    [[nodiscard]] std::uint64_t instructionNs() const;
    InstructionCounter retired_;
    std::uint32_t psPerInstruction_;
    std::uint64_t idleNs_ = 0;
};

}  // namespace cxvm::hw
