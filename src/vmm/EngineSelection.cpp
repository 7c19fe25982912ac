#include "engine/EngineSelect.h"
#include "engine/KvmEngine.h"
#include "util/Error.h"
#include "util/Log.h"
#include "vmm/Vm.h"

#include <cstdio>

#if __has_include("engine/InterpEngine.h")
#include "engine/InterpEngine.h"
#define CXVM_HAVE_INTERP 1
#endif

namespace cxvm::vmm {

// `auto` runs the kvm calibration guest (engine::selectEngine) and says in one line why
// it chose what it chose; interp and kvm are taken as asked.
std::unique_ptr<engine::Engine> createEngine(engine::MachineBus bus, const hw::Clock& clock,
                                             const VmConfig& config) {
    engine::EngineSelection s = engine::selectEngine(config.engine);
    if (config.engine == EngineChoice::Auto && log::level() >= log::Level::Warn)
        std::fprintf(stderr, "cxvm: %s\n", s.reason.c_str());
    if (s.kind == engine::EngineKind::Kvm) return std::make_unique<engine::KvmEngine>(bus);
#ifdef CXVM_HAVE_INTERP
    return std::make_unique<engine::InterpEngine>(bus, &clock);
#else
    (void)clock;
    throw Error("engine 'interp' is not part of this build yet");
#endif
}

}  // namespace cxvm::vmm
