#include "util/Error.h"
#include "vmm/Vm.h"

namespace cxvm::vmm {

// Engines register here as they land in main (interp: src/x86 + src/engine InterpEngine;
// kvm: src/engine). Until then the choice fails with a clear message.
std::unique_ptr<engine::Engine> createEngine(engine::MachineBus, const VmConfig& config) {
    switch (config.engine) {
    case EngineChoice::Interp:
        throw Error("engine 'interp' is not part of this build yet");
    case EngineChoice::Kvm:
        throw Error("engine 'kvm' is not part of this build yet");
    case EngineChoice::Auto:
        break;
    }
    throw Error("no execution engine is part of this build yet (interp, kvm)");
}

}  // namespace cxvm::vmm
