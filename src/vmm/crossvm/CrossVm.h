#pragma once
// Cross-VM connectors on a Vm (docs/crossvm.md "VMM side"): registers hypercall tokens
// 1..3 (dataport SHARE, consumed-event INIT/ACK, EMIT), takes a source on the board's
// ISA IRQ line config.irq (wired-OR with the i8042's AUX port on IRQ 12), and watches
// the consumed events' eventfds from a waiter thread that kicks the VM loop, which
// delivers on the VM thread (Vm::addLoopHook).
//
//     vmm::Vm vm(cfg);
//     vmm::CrossVm crossVm(vm, crossVmConfig);   // before vm.run(); destroyed before vm
//     vm.run();
#include "vmm/crossvm/CrossVmConfig.h"
#include "vmm/crossvm/CrossVmConnectors.h"
#include "vmm/crossvm/EventWaiter.h"

#include <cstdint>
#include <memory>

namespace cxvm::vmm {

class Vm;

class CrossVm {
public:
    // Throws cxvm::Error for a bad config, or when tokens 1..3 are already taken.
    CrossVm(Vm& vm, CrossVmConfig config);
    // Unregisters the tokens and the loop hook, and stops the waiter thread.
    ~CrossVm();
    CrossVm(const CrossVm&) = delete;
    CrossVm& operator=(const CrossVm&) = delete;

    // For tests and benchmarks: the connectors' state (VM thread).
    [[nodiscard]] crossvm::CrossVmConnectors& connectors() { return *connectors_; }

private:
    Vm& vm_;
    std::unique_ptr<crossvm::CrossVmConnectors> connectors_;
    std::uint64_t hook_ = 0;
    std::unique_ptr<crossvm::EventWaiter> waiter_;  // last: stops first
};

}  // namespace cxvm::vmm
