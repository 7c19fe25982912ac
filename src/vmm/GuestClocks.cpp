#include "vmm/GuestClocks.h"

#include "engine/Vcpu.h"

namespace cxvm::vmm {

std::uint64_t InstructionClock::nowNs() const {
    const std::uint64_t retired = vcpu_ ? vcpu_->instructionsRetired() : 0;
    return retired * nsPerInstruction_ + skippedNs_;
}

void InstructionClock::skipTo(std::uint64_t ns) {
    const std::uint64_t now = nowNs();
    if (ns > now) skippedNs_ += ns - now;
}

std::uint64_t InstructionClock::instructionsUntil(std::uint64_t ns) const {
    const std::uint64_t now = nowNs();
    if (ns <= now) return 1;
    return (ns - now + nsPerInstruction_ - 1) / nsPerInstruction_;
}

}  // namespace cxvm::vmm
