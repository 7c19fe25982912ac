#include "engine/EngineSelect.h"
#include "engine/InterpEngine.h"
#include "engine/KvmEngine.h"
#include "util/Error.h"
#include "util/Log.h"
#include "vmm/Vm.h"

#include <cstdio>

namespace cxvm::vmm {

// `auto` runs the kvm calibration guest (engine::selectEngine) and says in one line why
// it chose what it chose; interp and kvm are taken as asked.
std::unique_ptr<engine::Engine> createEngine(engine::MachineBus bus, const hw::Clock& clock,
                                             const VmConfig& config) {
    engine::EngineSelection s = engine::selectEngine(config.engine);
    if (config.engine == EngineChoice::Auto && log::level() >= log::Level::Warn)
        std::fprintf(stderr, "cxvm: %s\n", s.reason.c_str());
    if (s.kind == engine::EngineKind::Kvm) return std::make_unique<engine::KvmEngine>(bus);
    return std::make_unique<engine::InterpEngine>(bus, &clock);
}

void configureTrace(engine::Vcpu& vcpu, const TraceSpec& spec, TraceRing* ring) {
    auto* interp = dynamic_cast<engine::InterpVcpu*>(&vcpu);
    if (!interp) throw Error("--trace/--trace-post need the interp engine (--engine interp)");
    x86::TraceOptions t;
    t.enabled = spec.enabled;
    t.count = spec.count;
    t.fromAddress = spec.fromAddress;
    t.toAddress = spec.toAddress;
    t.out = ring ? ring->stream() : nullptr;
    interp->setTrace(t);
}

}  // namespace cxvm::vmm
