#include "vmm/crossvm/CrossVmConnectors.h"

namespace cxvm::vmm::crossvm {

CrossVmConnectors::CrossVmConnectors(hw::GuestMemory& memory, hw::IrqLine irq, CrossVmConfig config)
    : dataports_(memory, std::move(config.dataports), warnings_),
      events_(memory, irq, std::move(config.emits), std::move(config.consumes), warnings_) {}

std::uint32_t CrossVmConnectors::hypercall(const engine::HypercallArgs& a) {
    Result r = Result::NotSupported;
    const char* token = "?";
    switch (a.token) {
    case kTokenDataport:
        token = "dataport";
        if (a.arg0 == kShare) r = dataports_.share(a.arg1, a.arg2, a.arg3, events_.eventPage());
        break;
    case kTokenEventToGuest:
        token = "consumed-event";
        if (a.arg0 == kInit) r = events_.init(a.arg1, dataports_);
        else if (a.arg0 == kAck) r = events_.ack();
        break;
    case kTokenEventFromGuest:
        token = "emitted-event";
        if (a.arg0 == kEmit) r = events_.emit(a.arg1);
        break;
    default:
        break;
    }
    if (r == Result::NotSupported)
        warnings_.warn("crossvm: guest hypercall {} ({}) with unknown command ebx={:#x} "
                       "(ecx={:#x} edx={:#x} esi={:#x}); guest gets {}",
                       a.token, token, a.arg0, a.arg1, a.arg2, a.arg3, resultName(r));
    return eax(r);
}

}  // namespace cxvm::vmm::crossvm
