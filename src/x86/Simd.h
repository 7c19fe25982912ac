#pragma once
// Internal to the MMX/SSE/SSE2 handlers (ExecSimd*.cpp): the exception checks every
// form starts with, operand access, the host-SSE bridge's exception rules. See
// docs/x86.md "MMX, SSE and SSE2".
#include "x86/Exec.h"
#include "x86/SseHost.h"
#include "x86/X87Unit.h"

#include <emmintrin.h>

#include <cstring>

namespace cxvm::x86::simd {

using u8 = std::uint8_t;
using u16 = std::uint16_t;
using u32 = std::uint32_t;
using u64 = std::uint64_t;
using Xmm = Cpu::Xmm;

inline void ud(Cpu& c, const Insn&) {
    c.invalidOpcode();
}

// ---- the checks before anything is read (SDM Vol. 3 13.1, 13.2; Vol. 2 Tables 22-x) ----

// Instructions on XMM registers and MXCSR: #UD with CR0.EM or without CR4.OSFXSR, #NM
// with CR0.TS.
[[gnu::always_inline]] inline void sseCheck(const Cpu& c) {
    if ((c.cr0_ & cr0::EM) || !(c.cr4_ & cr4::OSFXSR)) [[unlikely]]
        Cpu::raise(vec::UD);
    if (c.cr0_ & cr0::TS) [[unlikely]]
        Cpu::raise(vec::NM);
}

// Instructions on MMX registers (SDM Vol. 1 9.5, Vol. 3 Table 12-1): #UD with CR0.EM,
// #NM with CR0.TS, then a pending unmasked x87 exception is reported (#MF with CR0.NE,
// else FERR#) before the instruction runs.
[[gnu::always_inline]] inline void mmxCheck(Cpu& c) {
    if (c.cr0_ & cr0::EM) [[unlikely]]
        Cpu::raise(vec::UD);
    if (c.cr0_ & cr0::TS) [[unlikely]]
        Cpu::raise(vec::NM);
    if (c.x87_->hasPendingUnmaskedException()) [[unlikely]] {
        if (c.cr0_ & cr0::NE) Cpu::raise(vec::MF);
        if (c.ferrHook_) c.ferrHook_();
    }
}

// ---- operands ----

[[gnu::always_inline]] inline u32 eaLinear(const Cpu& c, const Insn& in) {
    return c.seg_[in.seg].base + ea(c, in);
}

// m128 of an instruction that requires 16-byte alignment: #GP(0) otherwise (SDM Vol. 1
// 11.6.8; checked on the linear address, before the segment limit).
inline Xmm readAligned(Cpu& c, const Insn& in) {
    const u32 off = ea(c, in);
    if ((c.seg_[in.seg].base + off) & 15) [[unlikely]]
        Cpu::raise(vec::GP, 0);
    return c.read<Xmm>(in.seg, off);
}
inline void writeAligned(Cpu& c, const Insn& in, const Xmm& v) {
    const u32 off = ea(c, in);
    if ((c.seg_[in.seg].base + off) & 15) [[unlikely]]
        Cpu::raise(vec::GP, 0);
    c.write<Xmm>(in.seg, off, v);
}

template <class T>
[[gnu::always_inline]] inline T readMem(Cpu& c, const Insn& in) {
    return c.read<T>(in.seg, ea(c, in));
}
template <class T>
[[gnu::always_inline]] inline void writeMem(Cpu& c, const Insn& in, T v) {
    c.write<T>(in.seg, ea(c, in), v);
}

// xmm/m128 source, aligned or not.
template <bool Aligned>
[[gnu::always_inline]] inline Xmm xmmSrc(Cpu& c, const Insn& in) {
    if (in.mod == 3) return c.xmm_[in.rm];
    if constexpr (Aligned)
        return readAligned(c, in);
    else
        return readMem<Xmm>(c, in);
}
// mm/m64 source (read before the MMX state transition: a fault leaves it untouched).
[[gnu::always_inline]] inline u64 mmSrc(Cpu& c, const Insn& in) {
    if (in.mod == 3) return c.x87_->mmx(in.rm);
    return readMem<u64>(c, in);
}

inline __m128i toV(const Xmm& x) {
    return _mm_load_si128(reinterpret_cast<const __m128i*>(x.q));
}
inline Xmm fromV(__m128i v) {
    Xmm x;
    _mm_store_si128(reinterpret_cast<__m128i*>(x.q), v);
    return x;
}
inline __m128i toV(u64 v) {
    return _mm_cvtsi64_si128(static_cast<long long>(v));
}
inline u64 low64(__m128i v) {
    return static_cast<u64>(_mm_cvtsi128_si64(v));
}

// ---- SIMD floating-point exceptions (SDM Vol. 1 11.5.1, Vol. 3 13.5) ----
// `raised`: the flags a fully masked host run raised. With every raised exception
// masked they are ORed into MXCSR and the result stands. Otherwise nothing is written:
// an unmasked pre-computation exception (IE, DE, ZE) sets only the pre-computation
// flags (post-computation ones are never detected), an unmasked post-computation one
// (OE, UE, PE) sets every flag raised; then #XM with CR4.OSXMMEXCPT, else #UD.
[[gnu::always_inline]] inline void fpExceptions(Cpu& c, u32 raised) {
    const u32 unmasked = raised & ~(c.mxcsr_ >> 7) & mxcsr::kFlags;
    if (unmasked) [[unlikely]] {
        constexpr u32 kPre = mxcsr::IE | mxcsr::DE | mxcsr::ZE;
        c.mxcsr_ |= (unmasked & kPre) ? (raised & kPre) : raised;
        Cpu::raise((c.cr4_ & cr4::OSXMMEXCPT) ? vec::XM : vec::UD);
    }
    c.mxcsr_ |= raised;
}

// The MXCSR a host stub runs with: the guest's RC, DAZ and FZ, flags clear, all masked.
inline u32 hostMxcsr(const Cpu& c) {
    return (c.mxcsr_ & ~mxcsr::kFlags) | mxcsr::kMasks;
}

void registerSimdInt(OpTable& t);
void registerSimdMove(OpTable& t);
void registerSseFp(OpTable& t);
void registerSimdState(OpTable& t);

inline void setSimd(OpTable& t, unsigned op, unsigned prefix, Handler h,
                    std::uint8_t f = opf::ModRM) {
    t.setSimd(op, prefix, h, f, ud);
}

}  // namespace cxvm::x86::simd
