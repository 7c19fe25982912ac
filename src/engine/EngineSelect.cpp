#include "engine/EngineSelect.h"

#include "engine/KvmEngine.h"
#include "hw/GuestMemory.h"
#include "hw/IoBus.h"
#include "hw/MmioBus.h"
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

constexpr std::uint64_t kCodeGpa = 0x1000;

// The calibration guest, 32-bit protected mode, flat segments:
//   mov ecx, imm32 ; 1: dec ecx ; jnz 1b ; hlt
std::array<std::uint8_t, 9> calibrationCode(std::uint32_t iterations) {
    std::array<std::uint8_t, 9> c{0xB9, 0, 0, 0, 0, 0x49, 0x75, 0xFD, 0xF4};
    std::memcpy(&c[1], &iterations, 4);
    return c;
}

// Flat 4 GiB code (execute/read) or data (read/write) segment, 32-bit.
Segment flatSegment(std::uint16_t selector, std::uint8_t type) {
    Segment s;
    s.selector = selector;
    s.limit = 0xFFFFFFFF;
    s.type = type;
    s.present = 1;
    s.s = 1;
    s.db = 1;
    s.g = 1;
    return s;
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
        auto mem = std::make_unique<hw::GuestMemory>(64 * 1024);
        auto io = std::make_unique<hw::IoBus>();
        auto mmio = std::make_unique<hw::MmioBus>();
        hw::CpuInterruptPins pins;
        MachineBus bus{*mem, *io, *mmio, pins};
        KvmOptions opt;
        opt.device = device;
        KvmEngine engine(bus, opt);
        p.opened = true;
        auto vcpu = engine.createVcpu(0);
        Sregs s = vcpu->sregs();
        s.cs = flatSegment(0x8, 0xB);
        s.ds = s.es = s.fs = s.gs = s.ss = flatSegment(0x10, 0x3);
        s.cr0 = 0x11;  // PE, ET
        vcpu->setSregs(s);
        // Two lengths: their difference cancels the fixed cost of entering the guest.
        constexpr std::uint32_t kShort = 1000, kLong = 21000;
        auto tShort = timeLoop(*vcpu, *mem, kShort, p.detail);
        if (!tShort) return p;
        auto tLong = timeLoop(*vcpu, *mem, kLong, p.detail);
        if (!tLong) return p;
        const double instructions = 2.0 * (kLong - kShort);  // dec + jnz per iteration
        p.guestIps = instructions / std::max(*tLong - *tShort, 1e-9);
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
                fmt::format("engine auto: interp ({} runs guest code at {:.2g} instructions/s, below "
                            "the {:.0e}/s of hardware-assisted KVM)",
                            device, p.guestIps, kMinGuestIps)};
    return {EngineKind::Kvm,
            fmt::format("engine auto: kvm ({} runs guest code at {:.2g} instructions/s)", device, p.guestIps)};
}

}  // namespace cxvm::engine
