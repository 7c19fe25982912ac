#include "vmm/crossvm/CrossVm.h"

#include "vmm/Vm.h"

namespace cxvm::vmm {

using crossvm::CrossVmConnectors;

CrossVm::CrossVm(Vm& vm, CrossVmConfig config) : vm_(vm) {
    // Only a VM with consumed events needs the IRQ line (a board may have none).
    hw::IrqLine irq = config.consumes.empty() ? hw::IrqLine{} : vm.isaIrq(config.irq);
    connectors_ = std::make_unique<CrossVmConnectors>(vm.memory(), irq, std::move(config));
    auto& table = vm.hypercalls();
    auto handler = [c = connectors_.get()](const engine::HypercallArgs& a) { return c->hypercall(a); };
    const std::uint32_t tokens[] = {crossvm::kTokenDataport, crossvm::kTokenEventToGuest,
                                    crossvm::kTokenEventFromGuest};
    const char* names[] = {"crossvm dataport", "crossvm consumed events", "crossvm emitted events"};
    std::size_t registered = 0;
    try {
        for (; registered < std::size(tokens); ++registered)
            table.registerConnector(tokens[registered], names[registered], handler);
    } catch (...) {
        while (registered > 0) table.unregister(tokens[--registered]);
        throw;
    }
    hook_ = vm.addLoopHook([c = connectors_.get()] { c->events().deliverPending(); });
    try {
        waiter_ = std::make_unique<crossvm::EventWaiter>(connectors_->events(), [&vm] { vm.kick(); });
    } catch (...) {
        vm.removeLoopHook(hook_);
        for (std::uint32_t t : tokens) table.unregister(t);
        throw;
    }
}

CrossVm::~CrossVm() {
    waiter_.reset();
    vm_.removeLoopHook(hook_);
    for (std::uint32_t t : {crossvm::kTokenDataport, crossvm::kTokenEventToGuest,
                            crossvm::kTokenEventFromGuest})
        vm_.hypercalls().unregister(t);
}

}  // namespace cxvm::vmm
