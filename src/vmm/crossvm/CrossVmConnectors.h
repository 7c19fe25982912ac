#pragma once
// The cross-VM connectors' hypercalls (tokens 1..3, crossvm-abi.md) on a guest memory
// and an IRQ line, without a Vm: what vmm::CrossVm puts on a Vm, and what the fuzzer
// (fuzz/CrossVmFuzzer.cpp) drives directly.
#include "engine/Vcpu.h"
#include "hw/GuestMemory.h"
#include "hw/Irq.h"
#include "vmm/crossvm/CrossVmConfig.h"
#include "vmm/crossvm/CrossVmDataports.h"
#include "vmm/crossvm/CrossVmEvents.h"
#include "vmm/crossvm/WarnLimiter.h"

namespace cxvm::vmm::crossvm {

class CrossVmConnectors {
public:
    // Throws cxvm::Error for a bad config.
    CrossVmConnectors(hw::GuestMemory& memory, hw::IrqLine irq, CrossVmConfig config);

    // A hypercall with token 1..3 (VM thread): the guest's EAX. Never throws for guest
    // input; an unknown command is refused like every other bad input.
    std::uint32_t hypercall(const engine::HypercallArgs& args);

    [[nodiscard]] CrossVmDataports& dataports() { return dataports_; }
    [[nodiscard]] CrossVmEvents& events() { return events_; }
    [[nodiscard]] const WarnLimiter& warnings() const { return warnings_; }

private:
    WarnLimiter warnings_;
    CrossVmDataports dataports_;
    CrossVmEvents events_;
};

}  // namespace cxvm::vmm::crossvm
