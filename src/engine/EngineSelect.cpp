#include "engine/EngineSelect.h"

#include "engine/KvmScratchMachine.h"
#include "util/Error.h"

#include <array>
#include <chrono>
#include <cstring>

namespace cxvm::engine {

std::optional<EngineChoice> parseEngineChoice(std::string_view s) {
    if (s == "auto") return EngineChoice::Auto;
    if (s == "interp") return EngineChoice::Interp;
    if (s == "kvm") return EngineChoice::Kvm;
    return std::nullopt;
}

namespace {

constexpr std::uint64_t kCodeGpa = KvmScratchMachine::kCode;

// The calibration guest, 32-bit protected mode, flat segments:
//   mov ecx, imm32 ; 1: dec ecx ; jnz 1b ; hlt
std::array<std::uint8_t, 9> calibrationCode(std::uint32_t iterations) {
    std::array<std::uint8_t, 9> c{0xB9, 0, 0, 0, 0, 0x49, 0x75, 0xFD, 0xF4};
    std::memcpy(&c[1], &iterations, 4);
    return c;
}

// Runs the loop once; returns host seconds or nullopt (with `detail`) if it did not halt.
std::optional<double> timeLoop(Vcpu& vcpu, hw::GuestMemory& mem, std::uint32_t iterations,
                               std::string& detail) {
    auto code = calibrationCode(iterations);
    mem.write(kCodeGpa, code);
    Regs r{};
    r.rip = kCodeGpa;
    r.rflags = 0x2;
    vcpu.setRegs(r);
    const auto t0 = std::chrono::steady_clock::now();
    Exit e = vcpu.run(0);
    const auto t1 = std::chrono::steady_clock::now();
    if (e.reason != ExitReason::Halt) {
        detail = fmt::format("calibration guest did not halt (exit {}{})", static_cast<int>(e.reason),
                             e.detail.empty() ? "" : ": " + e.detail);
        return std::nullopt;
    }
    return std::chrono::duration<double>(t1 - t0).count();
}

}  // namespace

KvmProbe probeKvm(const std::string& device) {
    KvmProbe p;
    try {
        KvmOptions opt;
        opt.device = device;
        KvmScratchMachine m(opt, 64 * 1024);
        p.opened = true;
        m.protectedMode();
        Vcpu* vcpu = m.vcpu.get();
        hw::GuestMemory* mem = m.memory.get();
        // The fixed cost of a run (entry, HLT exit) is the best of a few 1-iteration runs;
        // the loop grows until it takes 1 ms beyond that, so timer noise cannot dominate
        // on fast hardware while a slow KVM stops at the first try (tens of ms).
        double fixed = 1e9;
        for (int i = 0; i < 3; ++i) {
            auto t = timeLoop(*vcpu, *mem, 1, p.detail);
            if (!t) return p;
            fixed = std::min(fixed, *t);
        }
        std::uint32_t iterations = 20000;
        double loop = 0;
        for (;;) {
            auto t = timeLoop(*vcpu, *mem, iterations, p.detail);
            if (!t) return p;
            loop = *t - fixed;
            if (loop >= 1e-3 || iterations >= (1u << 28)) break;
            iterations *= 4;
        }
        p.guestIps = 2.0 * iterations / std::max(loop, 1e-9);  // dec + jnz per iteration
        p.hardwareSpeed = p.guestIps >= kMinGuestIps;
    } catch (const Error& e) {
        p.detail = e.what();
    }
    return p;
}

EngineSelection selectEngine(EngineChoice choice, const std::string& device) {
    switch (choice) {
    case EngineChoice::Interp:
        return {EngineKind::Interp, "engine interp (asked for)"};
    case EngineChoice::Kvm:
        return {EngineKind::Kvm, "engine kvm (asked for)"};
    case EngineChoice::Auto:
        break;
    }
    KvmProbe p = probeKvm(device);
    if (!p.opened) return {EngineKind::Interp, fmt::format("engine auto: interp ({} unusable: {})", device, p.detail)};
    if (!p.detail.empty())
        return {EngineKind::Interp, fmt::format("engine auto: interp ({}: {})", device, p.detail)};
    if (!p.hardwareSpeed)
        return {EngineKind::Interp,
                fmt::format("engine auto: interp ({} runs guest code at {:.3g} instructions/s, below "
                            "the {:.0e}/s of hardware-assisted KVM)",
                            device, p.guestIps, kMinGuestIps)};
    return {EngineKind::Kvm,
            fmt::format("engine auto: kvm ({} runs guest code at {:.3g} instructions/s)", device, p.guestIps)};
}

}  // namespace cxvm::engine
