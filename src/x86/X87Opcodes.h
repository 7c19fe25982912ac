#pragma once
// The x87 opcode map of a P6-class CPU (Intel SDM Vol. 2 Appendix A.4, "Escape Opcode
// Instructions"): which ESC encodings exist, how big their memory operand is, and which
// ones are control instructions done in software rather than on the host FPU.
#include <array>
#include <cstdint>

namespace cxvm::x86 {

enum class X87Kind : std::uint8_t {
    Invalid,  // #UD on the P6 (including SSE3's FISTTP, which the P6 lacks)
    Host,     // executed on the host x87
    Control,  // done in software (see X87Control)
};

enum class X87Control : std::uint8_t {
    None, Fldenv, Fldcw, Fnstenv, Fnstcw, Frstor, Fnsave, FnstswMem, FnstswAx, Fnclex,
    Fninit,
    LegacyNop,  // FENI/FDISI/FSETPM (DB E0/E1/E4): no-ops since the 80387
};

struct X87OpInfo {
    X87Kind kind = X87Kind::Invalid;
    X87Control control = X87Control::None;
    std::uint8_t memBytes = 0;  // memory operand size (environment forms: see X87.cpp)
    bool store = false;         // memory operand is written, not read
    bool readsEflags = false;   // FCMOVcc
    bool writesEflags = false;  // FCOMI, FUCOMI, FCOMIP, FUCOMIP
    // Waiting instructions first report a pending unmasked exception (SDM Vol. 1 8.6).
    bool waiting = true;
    // Non-control instructions record FIP/FCS/FOP (and FDP/FDS with a memory operand),
    // SDM Vol. 1 8.1.8.
    bool updatesPointers = true;
};

namespace detail {

constexpr X87OpInfo host(std::uint8_t bytes = 0, bool store = false) {
    X87OpInfo i;
    i.kind = X87Kind::Host;
    i.memBytes = bytes;
    i.store = store;
    return i;
}

constexpr X87OpInfo control(X87Control c, bool waiting, std::uint8_t bytes = 0,
                            bool store = false) {
    X87OpInfo i;
    i.kind = X87Kind::Control;
    i.control = c;
    i.waiting = waiting;
    i.updatesPointers = false;
    i.memBytes = bytes;
    i.store = store;
    return i;
}

// Memory forms, by opcode (D8..DF) and ModRM.reg.
constexpr X87OpInfo memoryForm(unsigned op, unsigned reg) {
    using C = X87Control;
    switch (op) {
        case 0: return host(4);  // FADD..FDIVR m32fp
        case 1: {
            constexpr std::array<X87OpInfo, 8> t{
                host(4), X87OpInfo{}, host(4, true), host(4, true),
                control(C::Fldenv, true), control(C::Fldcw, true),
                control(C::Fnstenv, false), control(C::Fnstcw, false, 2, true)};
            return t[reg];
        }
        case 2: return host(4);  // FIADD..FIDIVR m32int
        case 3: {
            constexpr std::array<X87OpInfo, 8> t{host(4), X87OpInfo{}, host(4, true),
                                                 host(4, true), X87OpInfo{}, host(10),
                                                 X87OpInfo{}, host(10, true)};
            return t[reg];
        }
        case 4: return host(8);  // FADD..FDIVR m64fp
        case 5: {
            constexpr std::array<X87OpInfo, 8> t{
                host(8), X87OpInfo{}, host(8, true), host(8, true),
                control(C::Frstor, true), X87OpInfo{}, control(C::Fnsave, false),
                control(C::FnstswMem, false, 2, true)};
            return t[reg];
        }
        case 6: return host(2);  // FIADD..FIDIVR m16int
        default: {
            constexpr std::array<X87OpInfo, 8> t{host(2),  X87OpInfo{},    host(2, true),
                                                 host(2, true), host(10), host(8),
                                                 host(10, true), host(8, true)};
            return t[reg];
        }
    }
}

// Register forms, by opcode (D8..DF) and ModRM (C0..FF). The undocumented aliases the
// P6 executes (FSTP1, FCOM2, FCOMP3, FXCH4, FCOMP5, FFREEP, FXCH7, FSTP8, FSTP9) are valid.
constexpr X87OpInfo registerForm(unsigned op, unsigned modrm) {
    using C = X87Control;
    const unsigned row = (modrm >> 3) & 7, low = modrm & 7;
    X87OpInfo fcomi = host();
    fcomi.writesEflags = true;
    X87OpInfo fcmov = host();
    fcmov.readsEflags = true;
    switch (op) {
        case 0: case 4: return host();
        case 1:
            if (row <= 1 || row == 3) return host();  // FLD, FXCH, FSTP1
            if (modrm == 0xD0) return host();         // FNOP
            if (row == 4) return (low <= 1 || low == 4 || low == 5) ? host() : X87OpInfo{};
            if (row == 5) return low != 7 ? host() : X87OpInfo{};  // constants
            if (row >= 6) return host();  // F2XM1 .. FCOS
            return {};
        case 2:
            if (row <= 3) return fcmov;
            return modrm == 0xE9 ? host() : X87OpInfo{};  // FUCOMPP
        case 3:
            if (row <= 3) return fcmov;
            if (row == 4) {
                if (low == 2) return control(C::Fnclex, false);
                if (low == 3) return control(C::Fninit, false);
                if (low == 0 || low == 1 || low == 4) return control(C::LegacyNop, false);
                return {};
            }
            if (row == 5 || row == 6) return fcomi;  // FUCOMI, FCOMI
            return {};
        case 5: return row <= 5 ? host() : X87OpInfo{};  // FFREE FXCH4 FST FSTP FUCOM(P)
        case 6: return (row == 3 && low != 1) ? X87OpInfo{} : host();  // FCOMPP is DE D9
        default:
            if (row <= 3) return host();  // FFREEP FXCH7 FSTP8 FSTP9
            if (modrm == 0xE0) return control(C::FnstswAx, false);
            if (row == 5 || row == 6) return fcomi;  // FUCOMIP, FCOMIP
            return {};
    }
}

constexpr std::array<X87OpInfo, 8 * 72> buildTable() {
    std::array<X87OpInfo, 8 * 72> t{};
    for (unsigned op = 0; op < 8; ++op) {
        for (unsigned reg = 0; reg < 8; ++reg) t[op * 72 + reg] = memoryForm(op, reg);
        for (unsigned m = 0; m < 64; ++m) t[op * 72 + 8 + m] = registerForm(op, 0xC0 + m);
    }
    return t;
}

inline constexpr std::array<X87OpInfo, 8 * 72> kX87Table = buildTable();

}  // namespace detail

// Index of an ESC encoding: 72 per opcode, 8 memory forms (by reg) then 64 register forms.
constexpr unsigned x87Index(std::uint8_t opcode, std::uint8_t modrm) {
    const unsigned op = opcode & 7u;
    return op * 72 + (modrm >= 0xC0 ? 8u + (modrm - 0xC0u) : (modrm >> 3) & 7u);
}

constexpr const X87OpInfo& x87OpInfo(std::uint8_t opcode, std::uint8_t modrm) {
    return detail::kX87Table[x87Index(opcode, modrm)];
}

}  // namespace cxvm::x86
