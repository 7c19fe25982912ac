#pragma once
// Architectural state of the emulated i686 CPU (Intel SDM Vol. 1 ch. 3, Vol. 3 ch. 2-3).
#include <cstdint>

namespace cxvm::x86 {

// General registers in ModRM encoding order.
enum Reg : unsigned { EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI };
// Segment registers in ModRM/Sreg encoding order.
enum SegReg : unsigned { ES, CS, SS, DS, FS, GS, kSegCount };

// EFLAGS bits (SDM Vol. 1 3.4.3).
namespace fl {
inline constexpr std::uint32_t CF = 1u << 0, PF = 1u << 2, AF = 1u << 4, ZF = 1u << 6,
                               SF = 1u << 7, TF = 1u << 8, IF = 1u << 9, DF = 1u << 10,
                               OF = 1u << 11, IOPL = 3u << 12, NT = 1u << 14, RF = 1u << 16,
                               VM = 1u << 17, AC = 1u << 18, VIF = 1u << 19, VIP = 1u << 20,
                               ID = 1u << 21;
inline constexpr std::uint32_t kArith = CF | PF | AF | ZF | SF | OF;
inline constexpr std::uint32_t kReserved1 = 1u << 1;  // always reads as 1
}  // namespace fl

namespace cr0 {
inline constexpr std::uint32_t PE = 1u << 0, MP = 1u << 1, EM = 1u << 2, TS = 1u << 3,
                               ET = 1u << 4, NE = 1u << 5, WP = 1u << 16, AM = 1u << 18,
                               NW = 1u << 29, CD = 1u << 30, PG = 1u << 31;
}
namespace cr4 {
inline constexpr std::uint32_t VME = 1u << 0, PVI = 1u << 1, TSD = 1u << 2, DE = 1u << 3,
                               PSE = 1u << 4, PAE = 1u << 5, MCE = 1u << 6, PGE = 1u << 7,
                               PCE = 1u << 8, OSFXSR = 1u << 9, OSXMMEXCPT = 1u << 10;
// Bits this CPU implements; writing others raises #GP (SDM Vol. 3 2.5).
inline constexpr std::uint32_t kSupported = TSD | DE | PSE | PGE | PCE | OSFXSR | OSXMMEXCPT;
}  // namespace cr4

// A segment register with its hidden descriptor cache (SDM Vol. 3 3.4.3), plus the
// offset window [lo, hi] derived from limit/expand-down/B so access checks are two
// compares.
struct SegCache {
    std::uint32_t base = 0;
    std::uint32_t limit = 0xFFFF;  // byte granular
    std::uint16_t selector = 0;
    std::uint8_t type = 0x3;  // descriptor type bits 40..43
    std::uint8_t s = 1, dpl = 0, present = 1, db = 0, g = 0, avl = 0;
    bool valid = true;  // false: null selector loaded in protected mode
    // derived
    std::uint32_t lo = 0, hi = 0xFFFF;
    bool readable = true, writable = true;
    // Per access size 1, 2, 4, 8 bytes: an access at `off` is allowed iff
    // uint32(off - lo) < rEnd/wEnd[size] (0: never) -- one compare on the hot path.
    std::uint64_t rEnd[4] = {}, wEnd[4] = {};
    // What keeps an access from skipping the window check (compiled code's flat-segment
    // path, one test): kNotFullRead/kNotFullWrite, the window is not all of 0..4G-1 for
    // reads/writes (an access that wraps past 4G crosses a page, which the TLB check
    // sends to the slow path anyway); kBaseNonZero, the base must still be added.
    static constexpr std::uint8_t kNotFullRead = 1, kNotFullWrite = 2, kBaseNonZero = 4;
    std::uint8_t notFlat = kNotFullRead | kNotFullWrite;

    void derive() {
        bool code = s && (type & 8);
        bool expandDown = s && !code && (type & 4);
        if (expandDown) {
            lo = limit + 1;
            hi = db ? 0xFFFFFFFFu : 0xFFFFu;
            if (limit == 0xFFFFFFFFu) lo = 0xFFFFFFFFu, hi = 0;  // empty
        } else {
            lo = 0;
            hi = limit;
        }
        readable = valid && s && (!code || (type & 2));
        writable = valid && s && !code && (type & 2);
        for (unsigned i = 0; i < 4; ++i) {
            const std::uint64_t last = (1u << i) - 1;  // size - 1
            const std::uint64_t span = lo <= hi ? std::uint64_t{hi} - lo : 0;
            const std::uint64_t end = lo <= hi && span >= last ? span - last + 1 : 0;
            rEnd[i] = readable ? end : 0;
            wEnd[i] = writable ? end : 0;
        }
        const bool full = lo == 0 && hi == 0xFFFFFFFFu;
        notFlat = static_cast<std::uint8_t>((full && readable ? 0 : kNotFullRead) |
                                            (full && writable ? 0 : kNotFullWrite) |
                                            (base == 0 ? 0 : kBaseNonZero));
    }
};

// MXCSR (SDM Vol. 1 10.2.3): flags IE DE ZE OE UE PE (0-5), DAZ (6), masks (7-12), RC
// (13-14), FZ (15). Bits 16-31 are reserved (#GP when set by LDMXCSR/FXRSTOR).
namespace mxcsr {
inline constexpr std::uint32_t IE = 1u << 0, DE = 1u << 1, ZE = 1u << 2, OE = 1u << 3,
                               UE = 1u << 4, PE = 1u << 5, DAZ = 1u << 6, kFlags = 0x3F,
                               kMasks = 0x3Fu << 7, FZ = 1u << 15;
inline constexpr std::uint32_t kReset = 0x1F80;  // all masked, round to nearest
// MXCSR_MASK in the FXSAVE image: every defined bit, DAZ included (SDM Vol. 1 11.6.6).
inline constexpr std::uint32_t kMask = 0xFFFF;
}  // namespace mxcsr

struct TableReg {
    std::uint32_t base = 0;
    std::uint32_t limit = 0xFFFF;
};

// MSR numbers this CPU implements (SDM Vol. 4).
namespace msr {
inline constexpr std::uint32_t TSC = 0x10, APIC_BASE = 0x1B, BIOS_SIGN_ID = 0x8B,
                               SYSENTER_CS = 0x174, SYSENTER_ESP = 0x175, SYSENTER_EIP = 0x176,
                               MISC_ENABLE = 0x1A0;
}

}  // namespace cxvm::x86
