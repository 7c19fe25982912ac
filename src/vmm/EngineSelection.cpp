#include "engine/EngineSelect.h"
#include "engine/InterpEngine.h"
#include "engine/KvmEngine.h"
#include "util/Error.h"
#include "util/File.h"
#include "util/Log.h"
#include "vmm/Vm.h"

#include <algorithm>
#include <type_traits>
#include <cstdio>
#include <unordered_map>
#include <vector>

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

namespace {
constexpr std::uint64_t kProfileInterval = 10'000;
// The debugging hooks below exist on the interp engine only.
template <class V>  // engine::Vcpu or const engine::Vcpu
auto& interpFor(V& vcpu, const char* what) {
    using Interp = std::conditional_t<std::is_const_v<V>, const engine::InterpVcpu, engine::InterpVcpu>;
    auto* interp = dynamic_cast<Interp*>(&vcpu);
    if (!interp) throw Error::format("{}: needs the interp engine (--engine interp)", what);
    return *interp;
}
}  // namespace

void configureTrace(engine::Vcpu& vcpu, const TraceSpec& spec, TraceRing* ring) {
    x86::TraceOptions t;
    t.enabled = spec.enabled;
    t.count = spec.count;
    t.fromAddress = spec.fromAddress;
    t.toAddress = spec.toAddress;
    t.out = ring ? ring->stream() : nullptr;
    interpFor(vcpu, "--trace/--trace-post").setTrace(t);
}

void disableCompiledBlocks(engine::Vcpu& vcpu) {
    interpFor(vcpu, "--no-jit").cpu().setCompile(false);
}

void configureProfile(engine::Vcpu& vcpu) {
    interpFor(vcpu, "--profile").cpu().setProfileInterval(kProfileInterval);
}

void writeProfile(const engine::Vcpu& vcpu, const std::string& path) {
    const auto& hist = interpFor(vcpu, "--profile").cpu().profileSamples();
    std::vector<std::pair<std::uint32_t, std::uint64_t>> rows(hist.begin(), hist.end());
    std::sort(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.second > b.second; });
    std::string text = fmt::format(
        "# cxvm guest profile: instructions (sampled every {}) per linear EIP\n", kProfileInterval);
    for (auto& [eip, n] : rows) text += fmt::format("{} {:08x}\n", n * kProfileInterval, eip);
    writeFileAtomic(path, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
    log::info("vm: guest profile ({} distinct EIPs) written to {}", rows.size(), path);
}

}  // namespace cxvm::vmm
