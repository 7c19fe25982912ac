#include "engine/EngineSelect.h"
#include "engine/KvmEngine.h"
#include "util/Error.h"
#include "vmm/Vm.h"

#include <cstdio>

namespace cxvm::vmm {

// Engines register here as they land in main (interp: src/x86 + src/engine InterpEngine;
// kvm: src/engine/KvmEngine). `auto` runs the kvm calibration guest
// (engine::selectEngine) and says in one line why it chose what it chose.
std::unique_ptr<engine::Engine> createEngine(engine::MachineBus bus, const VmConfig& config) {
    engine::EngineKind kind = engine::EngineKind::Interp;
    switch (config.engine) {
    case EngineChoice::Interp:
        break;
    case EngineChoice::Kvm:
        kind = engine::EngineKind::Kvm;
        break;
    case EngineChoice::Auto: {
        engine::EngineSelection s = engine::selectEngine(engine::EngineChoice::Auto);
        std::fprintf(stderr, "cxvm: %s\n", s.reason.c_str());
        kind = s.kind;
        break;
    }
    }
    if (kind == engine::EngineKind::Kvm) return std::make_unique<engine::KvmEngine>(bus);
    throw Error("engine 'interp' is not part of this build yet");
}

}  // namespace cxvm::vmm
