#include "engine/EngineSelect.h"
#include "engine/InterpEngine.h"
#include "engine/KvmEngine.h"
#include "util/Error.h"
#include "util/File.h"
#include "util/Log.h"
#include "vmm/Vm.h"

#include <algorithm>
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

namespace {
constexpr std::uint64_t kProfileInterval = 10'000;
engine::InterpVcpu& interpFor(const engine::Vcpu& vcpu, const char* what) {
    auto* interp = dynamic_cast<const engine::InterpVcpu*>(&vcpu);
    if (!interp) throw Error::format("{} needs the interp engine (--engine interp)", what);
    return const_cast<engine::InterpVcpu&>(*interp);
}
}  // namespace

void configureProfile(engine::Vcpu& vcpu) {
    interpFor(vcpu, "--profile").setProfileInterval(kProfileInterval);
}

void writeProfile(const engine::Vcpu& vcpu, const std::string& path) {
    std::unordered_map<std::uint32_t, std::uint64_t> hist;
    for (std::uint32_t eip : interpFor(vcpu, "--profile").profileSamples()) ++hist[eip];
    std::vector<std::pair<std::uint32_t, std::uint64_t>> rows(hist.begin(), hist.end());
    std::sort(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.second > b.second; });
    std::string text = fmt::format(
        "# cxvm guest profile: instructions (sampled every {}) per linear EIP\n", kProfileInterval);
    for (auto& [eip, n] : rows) text += fmt::format("{} {:08x}\n", n * kProfileInterval, eip);
    writeFileAtomic(path, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
    log::info("vm: guest profile ({} distinct EIPs) written to {}", rows.size(), path);
}

}  // namespace cxvm::vmm
