#include "hw/DeterministicClock.h"

#include "hw/MulDiv.h"
#include "util/Error.h"

namespace cxvm::hw {

DeterministicClock::DeterministicClock(InstructionCounter retired, std::uint32_t psPerInstruction)
    : retired_(std::move(retired)), psPerInstruction_(psPerInstruction) {
    if (!retired_) throw Error("deterministic clock: no instruction counter");
    if (psPerInstruction_ == 0) throw Error("deterministic clock: 0 ps per instruction");
}

std::uint64_t DeterministicClock::instructionNs() const {
    return mulDiv(retired_(), psPerInstruction_, 1000);
}

std::uint64_t DeterministicClock::nowNs() const { return instructionNs() + idleNs_; }

void DeterministicClock::skipTo(std::uint64_t ns) {
    std::uint64_t now = nowNs();
    if (ns > now) idleNs_ += ns - now;
}

}  // namespace cxvm::hw
