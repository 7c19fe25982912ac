// SSE/SSE2 floating point: arithmetic, MIN/MAX, SQRT, compares, COMIS*/UCOMIS*,
// conversions (SDM Vol. 1 10.4.2, 11.4.1-2, 11.5; Vol. 2 per instruction). Each runs
// the very instruction on the host (SseHost.h) with the guest's rounding/DAZ/FZ, so
// results, NaN propagation (including MIN/MAX returning the second operand for NaNs
// and zeros of either sign) and raised flags are the hardware's; the guest's masks are
// applied afterwards (Simd.h fpExceptions). RCPPS/RSQRTPS are approximations whose
// exact bits the SDM leaves to the implementation: see rcp()/rsqrt().
#if defined(__x86_64__)
#include "x86/Simd.h"

#include <cmath>

namespace cxvm::x86::simd {

namespace {

using T = OpTable;

// The source operand's width: a register is the whole XMM register; memory is m128
// (16-byte aligned), m64 or m32 (no alignment), or r/m32 for CVTSI2Sx.
enum class Src : std::uint8_t { M128, M64, M32, Gpr };
enum class Dst : std::uint8_t { Xmm, Gpr, Flags };
// Results to check for tininess when UE is unmasked (below).
enum class Tiny : std::uint8_t { None, Ps, Ss, Pd, Sd, Ps2 };

template <Src S>
[[gnu::always_inline]] inline void loadSrc(Cpu& c, const Insn& in, SseHostFrame& f) {
    f.src[0] = f.src[1] = 0;
    f.gpr = 0;
    if constexpr (S == Src::Gpr) {
        f.gpr = in.mod == 3 ? c.regs_[in.rm] : readMem<u32>(c, in);
    } else if (in.mod == 3) {
        f.src[0] = c.xmm_[in.rm].q[0];
        f.src[1] = c.xmm_[in.rm].q[1];
    } else if constexpr (S == Src::M128) {
        const Xmm v = readAligned(c, in);
        f.src[0] = v.q[0];
        f.src[1] = v.q[1];
    } else if constexpr (S == Src::M64) {
        f.src[0] = readMem<u64>(c, in);
    } else {
        f.src[0] = readMem<u32>(c, in);
    }
}

// With UE unmasked, underflow is signalled for every tiny result, exact or not (SDM
// Vol. 1 11.5.2.5); the masked host run only reports tiny *and* inexact ones, which
// leaves the exact tiny results: denormals in the result elements.
template <Tiny K>
u32 exactTiny(const Cpu& c, const SseHostFrame& f, u32 raised) {
    if constexpr (K == Tiny::None) {
        return 0;
    } else {
        if ((c.mxcsr_ & (mxcsr::UE << 7)) || (raised & mxcsr::UE)) return 0;
        auto den32 = [](u32 v) { return (v & 0x7F800000u) == 0 && (v & 0x7FFFFFu) != 0; };
        auto den64 = [](u64 v) {
            return (v & 0x7FF0000000000000ull) == 0 && (v & 0xFFFFFFFFFFFFFull) != 0;
        };
        bool tiny = false;
        if constexpr (K == Tiny::Ps || K == Tiny::Ss || K == Tiny::Ps2) {
            constexpr unsigned n = K == Tiny::Ps ? 4 : K == Tiny::Ss ? 1 : 2;
            u32 v[4];
            std::memcpy(v, f.dst, 16);
            for (unsigned i = 0; i < n; ++i) tiny |= den32(v[i]);
        } else {
            constexpr unsigned n = K == Tiny::Pd ? 2 : 1;
            for (unsigned i = 0; i < n; ++i) tiny |= den64(f.dst[i]);
        }
        return tiny ? mxcsr::UE : 0;
    }
}

template <Src S, Dst D, Tiny K>
[[gnu::always_inline]] inline void runFp(Cpu& c, const Insn& in, SseOp op) {
    sseCheck(c);
    SseHostFrame f;
    loadSrc<S>(c, in, f);
    f.dst[0] = c.xmm_[in.reg].q[0];
    f.dst[1] = c.xmm_[in.reg].q[1];
    f.mxcsr = hostMxcsr(c);
    const u32 flags = sseHostRun(f, op);
    u32 raised = f.mxcsr & mxcsr::kFlags;
    raised |= exactTiny<K>(c, f, raised);
    fpExceptions(c, raised);  // may raise: nothing written yet
    if constexpr (D == Dst::Xmm) {
        c.xmm_[in.reg].q[0] = f.dst[0];
        c.xmm_[in.reg].q[1] = f.dst[1];
    } else if constexpr (D == Dst::Gpr) {
        c.regs_[in.reg] = f.gpr;
    } else {
        // COMISS/UCOMISS: ZF PF CF from the compare, OF SF AF cleared.
        c.setFlags(fl::kArith, flags);
    }
}

template <SseOp Op, Src S, Dst D = Dst::Xmm, Tiny K = Tiny::None>
void fp(Cpu& c, const Insn& in) {
    runFp<S, D, K>(c, in, Op);
}
// CMPPS/CMPPD/CMPSS/CMPSD: the predicate is imm8[2:0] (the legacy encodings ignore
// imm8[7:3]); stubs Base+0 .. Base+7.
template <SseOp Base, Src S>
void cmp(Cpu& c, const Insn& in) {
    runFp<S, Dst::Xmm, Tiny::None>(c, in, SseOp(unsigned(Base) + (in.imm & 7)));
}

// ---- conversions with an MMX operand ----
// CVTPI2PS xmm, mm/m64 (low two singles; upper half kept) and CVTPI2PD xmm, mm/m64 run
// as CVTDQ2PS / CVTDQ2PD on the two doublewords (the zeros above convert exactly, raising
// nothing). An MMX register source makes it an MMX instruction too (x87 transition).
template <bool Double>
void cvtpi2p(Cpu& c, const Insn& in) {
    sseCheck(c);
    if (in.mod == 3) mmxCheck(c);
    SseHostFrame f;
    f.src[0] = mmSrc(c, in);
    f.src[1] = 0;
    f.dst[0] = f.dst[1] = 0;
    f.gpr = 0;
    f.mxcsr = hostMxcsr(c);
    sseHostRun(f, Double ? SseOp::cvtdq2pd : SseOp::cvtdq2ps);
    fpExceptions(c, f.mxcsr & mxcsr::kFlags);
    if (in.mod == 3) c.x87_->enterMmx();
    if constexpr (Double) {
        c.xmm_[in.reg] = Xmm{{f.dst[0], f.dst[1]}};
    } else {
        c.xmm_[in.reg].q[0] = f.dst[0];
    }
}
// CVT(T)PS2PI mm, xmm/m64 and CVT(T)PD2PI mm, xmm/m128 (aligned): CVT(T)PS2DQ /
// CVT(T)PD2DQ of the two elements; the destination is an MMX register.
template <SseOp Op, Src S>
void cvtp2pi(Cpu& c, const Insn& in) {
    sseCheck(c);
    mmxCheck(c);
    SseHostFrame f;
    loadSrc<S>(c, in, f);
    if constexpr (S == Src::M64) f.src[1] = 0;  // only two singles are converted
    f.dst[0] = f.dst[1] = 0;
    f.mxcsr = hostMxcsr(c);
    sseHostRun(f, Op);
    fpExceptions(c, f.mxcsr & mxcsr::kFlags);
    c.x87_->enterMmx();
    c.x87_->setMmx(in.reg, f.dst[0]);
}

// ---- RCPPS/RCPSS, RSQRTPS/RSQRTSS (SDM Vol. 2: relative error <= 1.5 * 2^-12) ----
// The exact values are the implementation's: Intel and AMD tables differ, QEMU divides.
// cxvm returns the correctly rounded single-precision 1/x and 1/sqrt(x) (round to
// nearest, whatever MXCSR.RC), which is within the bound, the same on every host, and
// what QEMU computes in round-to-nearest. The special cases are the SDM's: no
// exception, no MXCSR flag; +-0 and denormals -> +-inf; +-inf -> +-0; NaN -> the
// quieted NaN; RSQRT of a negative number -> the QNaN indefinite; tiny RCP results
// flush to +-0.
u32 f2u(float v) {
    u32 u;
    std::memcpy(&u, &v, 4);
    return u;
}
float u2f(u32 u) {
    float v;
    std::memcpy(&v, &u, 4);
    return v;
}
u32 rcp(u32 x) {
    const u32 sign = x & 0x80000000u, e = (x >> 23) & 0xFF;
    if (e == 0xFF) return (x & 0x7FFFFFu) ? (x | 0x400000u) : sign;
    if (e == 0) return sign | 0x7F800000u;
    const u32 r = f2u(1.0f / u2f(x));
    return (r & 0x7F800000u) == 0 ? sign : r;
}
u32 rsqrt(u32 x) {
    const u32 sign = x & 0x80000000u, e = (x >> 23) & 0xFF;
    if (e == 0xFF && (x & 0x7FFFFFu)) return x | 0x400000u;
    if (e == 0) return sign | 0x7F800000u;
    if (sign) return 0xFFC00000u;
    if (e == 0xFF) return 0;
    return f2u(1.0f / std::sqrt(u2f(x)));
}
template <u32 (*F)(u32), bool Scalar>
void approx(Cpu& c, const Insn& in) {
    sseCheck(c);
    u32 s[4] = {}, d[4];
    if (in.mod == 3) {
        std::memcpy(s, c.xmm_[in.rm].q, 16);
    } else if constexpr (Scalar) {
        s[0] = readMem<u32>(c, in);
    } else {
        const Xmm v = readAligned(c, in);
        std::memcpy(s, v.q, 16);
    }
    std::memcpy(d, c.xmm_[in.reg].q, 16);
    for (unsigned i = 0; i < (Scalar ? 1u : 4u); ++i) d[i] = F(s[i]);
    std::memcpy(c.xmm_[in.reg].q, d, 16);
}

// One arithmetic row (0F 51, 58-5F): PS, SS, PD, SD.
void row(OpTable& t, unsigned op, Handler ps, Handler ss, Handler pd, Handler sd) {
    setSimd(t, op, T::kPfxNone, ps);
    setSimd(t, op, T::kPfxF3, ss);
    setSimd(t, op, T::kPfx66, pd);
    setSimd(t, op, T::kPfxF2, sd);
}
#define CXVM_SSE_ROW(op, name, tp, ts, tpd, tsd)                   \
    row(t, op, fp<SseOp::name##ps, Src::M128, Dst::Xmm, Tiny::tp>, \
        fp<SseOp::name##ss, Src::M32, Dst::Xmm, Tiny::ts>,         \
        fp<SseOp::name##pd, Src::M128, Dst::Xmm, Tiny::tpd>,       \
        fp<SseOp::name##sd, Src::M64, Dst::Xmm, Tiny::tsd>)

}  // namespace

void registerSseFp(OpTable& t) {
    CXVM_SSE_ROW(0x51, sqrt, None, None, None, None);
    CXVM_SSE_ROW(0x58, add, Ps, Ss, Pd, Sd);
    CXVM_SSE_ROW(0x59, mul, Ps, Ss, Pd, Sd);
    CXVM_SSE_ROW(0x5C, sub, Ps, Ss, Pd, Sd);
    CXVM_SSE_ROW(0x5D, min, None, None, None, None);
    CXVM_SSE_ROW(0x5E, div, Ps, Ss, Pd, Sd);
    CXVM_SSE_ROW(0x5F, max, None, None, None, None);
    setSimd(t, 0x52, T::kPfxNone, approx<rsqrt, false>);
    setSimd(t, 0x52, T::kPfxF3, approx<rsqrt, true>);
    setSimd(t, 0x53, T::kPfxNone, approx<rcp, false>);
    setSimd(t, 0x53, T::kPfxF3, approx<rcp, true>);
    constexpr std::uint8_t kIb = opf::ModRM | opf::Ib;
    setSimd(t, 0xC2, T::kPfxNone, cmp<SseOp::cmpps0, Src::M128>, kIb);
    setSimd(t, 0xC2, T::kPfx66, cmp<SseOp::cmppd0, Src::M128>, kIb);
    setSimd(t, 0xC2, T::kPfxF3, cmp<SseOp::cmpss0, Src::M32>, kIb);
    setSimd(t, 0xC2, T::kPfxF2, cmp<SseOp::cmpsd0, Src::M64>, kIb);
    setSimd(t, 0x2E, T::kPfxNone, fp<SseOp::ucomiss, Src::M32, Dst::Flags>);
    setSimd(t, 0x2E, T::kPfx66, fp<SseOp::ucomisd, Src::M64, Dst::Flags>);
    setSimd(t, 0x2F, T::kPfxNone, fp<SseOp::comiss, Src::M32, Dst::Flags>);
    setSimd(t, 0x2F, T::kPfx66, fp<SseOp::comisd, Src::M64, Dst::Flags>);
    setSimd(t, 0x2A, T::kPfxNone, cvtpi2p<false>);
    setSimd(t, 0x2A, T::kPfx66, cvtpi2p<true>);
    setSimd(t, 0x2A, T::kPfxF3, fp<SseOp::cvtsi2ss, Src::Gpr>);
    setSimd(t, 0x2A, T::kPfxF2, fp<SseOp::cvtsi2sd, Src::Gpr>);
    setSimd(t, 0x2C, T::kPfxNone, cvtp2pi<SseOp::cvttps2dq, Src::M64>);
    setSimd(t, 0x2C, T::kPfx66, cvtp2pi<SseOp::cvttpd2dq, Src::M128>);
    setSimd(t, 0x2C, T::kPfxF3, fp<SseOp::cvttss2si, Src::M32, Dst::Gpr>);
    setSimd(t, 0x2C, T::kPfxF2, fp<SseOp::cvttsd2si, Src::M64, Dst::Gpr>);
    setSimd(t, 0x2D, T::kPfxNone, cvtp2pi<SseOp::cvtps2dq, Src::M64>);
    setSimd(t, 0x2D, T::kPfx66, cvtp2pi<SseOp::cvtpd2dq, Src::M128>);
    setSimd(t, 0x2D, T::kPfxF3, fp<SseOp::cvtss2si, Src::M32, Dst::Gpr>);
    setSimd(t, 0x2D, T::kPfxF2, fp<SseOp::cvtsd2si, Src::M64, Dst::Gpr>);
    setSimd(t, 0x5A, T::kPfxNone, fp<SseOp::cvtps2pd, Src::M64>);
    setSimd(t, 0x5A, T::kPfx66, fp<SseOp::cvtpd2ps, Src::M128, Dst::Xmm, Tiny::Ps2>);
    setSimd(t, 0x5A, T::kPfxF3, fp<SseOp::cvtss2sd, Src::M32>);
    setSimd(t, 0x5A, T::kPfxF2, fp<SseOp::cvtsd2ss, Src::M64, Dst::Xmm, Tiny::Ss>);
    setSimd(t, 0x5B, T::kPfxNone, fp<SseOp::cvtdq2ps, Src::M128>);
    setSimd(t, 0x5B, T::kPfx66, fp<SseOp::cvtps2dq, Src::M128>);
    setSimd(t, 0x5B, T::kPfxF3, fp<SseOp::cvttps2dq, Src::M128>);
    setSimd(t, 0xE6, T::kPfx66, fp<SseOp::cvttpd2dq, Src::M128>);
    setSimd(t, 0xE6, T::kPfxF3, fp<SseOp::cvtdq2pd, Src::M64>);
    setSimd(t, 0xE6, T::kPfxF2, fp<SseOp::cvtpd2dq, Src::M128>);
}

}  // namespace cxvm::x86::simd
#endif
