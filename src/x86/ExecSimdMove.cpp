// MMX/SSE/SSE2 data movement, logic, shuffles and unpacks of packed floating point
// (SDM Vol. 1 9.4.4, 10.4.1, 10.4.3-5, 11.4.1; opcode map Table A-3): no floating-point
// arithmetic, so no MXCSR flags.
#if defined(__x86_64__)
#include "x86/Simd.h"

namespace cxvm::x86::simd {

namespace {

using T = OpTable;

// ---- MOVD / MOVQ on MMX registers ----
// 0F 6E: MOVD mm, r/m32 (upper half zeroed)
void movdToMm(Cpu& c, const Insn& in) {
    mmxCheck(c);
    const u32 v = in.mod == 3 ? c.regs_[in.rm] : readMem<u32>(c, in);
    c.x87_->enterMmx();
    c.x87_->setMmx(in.reg, v);
}
// 0F 7E: MOVD r/m32, mm
void movdFromMm(Cpu& c, const Insn& in) {
    mmxCheck(c);
    const u32 v = u32(c.x87_->mmx(in.reg));
    if (in.mod == 3)
        c.regs_[in.rm] = v;
    else
        writeMem<u32>(c, in, v);
    c.x87_->enterMmx();
}
// 0F 6F: MOVQ mm, mm/m64
void movqToMm(Cpu& c, const Insn& in) {
    mmxCheck(c);
    const u64 v = mmSrc(c, in);
    c.x87_->enterMmx();
    c.x87_->setMmx(in.reg, v);
}
// 0F 7F: MOVQ mm/m64, mm; 0F E7: MOVNTQ m64, mm (memory only)
template <bool MemOnly>
void movqFromMm(Cpu& c, const Insn& in) {
    if (MemOnly && in.mod == 3) c.invalidOpcode();
    mmxCheck(c);
    X87& f = *c.x87_;
    const u64 v = f.mmx(in.reg);
    if (in.mod == 3) {
        f.enterMmx();
        f.setMmx(in.rm, v);
        return;
    }
    writeMem<u64>(c, in, v);
    f.enterMmx();
}

// ---- MOVD / MOVQ / MOVDQA / MOVDQU on XMM registers ----
// 66 0F 6E: MOVD xmm, r/m32 (zero-extended to 128 bits)
void movdToXmm(Cpu& c, const Insn& in) {
    sseCheck(c);
    const u32 v = in.mod == 3 ? c.regs_[in.rm] : readMem<u32>(c, in);
    c.xmm_[in.reg] = Xmm{{v, 0}};
}
// 66 0F 7E: MOVD r/m32, xmm
void movdFromXmm(Cpu& c, const Insn& in) {
    sseCheck(c);
    const u32 v = u32(c.xmm_[in.reg].q[0]);
    if (in.mod == 3)
        c.regs_[in.rm] = v;
    else
        writeMem<u32>(c, in, v);
}
// F3 0F 7E: MOVQ xmm, xmm/m64 (upper quadword zeroed)
void movqToXmm(Cpu& c, const Insn& in) {
    sseCheck(c);
    const u64 v = in.mod == 3 ? c.xmm_[in.rm].q[0] : readMem<u64>(c, in);
    c.xmm_[in.reg] = Xmm{{v, 0}};
}
// 66 0F D6: MOVQ xmm/m64, xmm (a register destination's upper quadword zeroed)
void movqFromXmm(Cpu& c, const Insn& in) {
    sseCheck(c);
    const u64 v = c.xmm_[in.reg].q[0];
    if (in.mod == 3)
        c.xmm_[in.rm] = Xmm{{v, 0}};
    else
        writeMem<u64>(c, in, v);
}
// F3 0F D6: MOVQ2DQ xmm, mm; F2 0F D6: MOVDQ2Q mm, xmm (registers only)
void movq2dq(Cpu& c, const Insn& in) {
    if (in.mod != 3) c.invalidOpcode();
    sseCheck(c);
    mmxCheck(c);
    const u64 v = c.x87_->mmx(in.rm);
    c.x87_->enterMmx();
    c.xmm_[in.reg] = Xmm{{v, 0}};
}
void movdq2q(Cpu& c, const Insn& in) {
    if (in.mod != 3) c.invalidOpcode();
    sseCheck(c);
    mmxCheck(c);
    c.x87_->enterMmx();
    c.x87_->setMmx(in.reg, c.xmm_[in.rm].q[0]);
}

// Whole-register loads and stores: MOVUPS/MOVUPD/MOVDQU (unaligned), MOVAPS/MOVAPD/
// MOVDQA (16-byte aligned, #GP(0) otherwise).
template <bool Aligned>
void load128(Cpu& c, const Insn& in) {
    sseCheck(c);
    c.xmm_[in.reg] = xmmSrc<Aligned>(c, in);
}
template <bool Aligned>
void store128(Cpu& c, const Insn& in) {
    sseCheck(c);
    if (in.mod == 3) {
        c.xmm_[in.rm] = c.xmm_[in.reg];
    } else if constexpr (Aligned) {
        writeAligned(c, in, c.xmm_[in.reg]);
    } else {
        writeMem<Xmm>(c, in, c.xmm_[in.reg]);
    }
}
// MOVNTPS/MOVNTPD/MOVNTDQ m128, xmm (aligned; memory only)
void movnt128(Cpu& c, const Insn& in) {
    if (in.mod == 3) c.invalidOpcode();
    sseCheck(c);
    writeAligned(c, in, c.xmm_[in.reg]);
}
// 0F C3: MOVNTI m32, r32 (memory only; an integer store, no SSE state involved)
void movnti(Cpu& c, const Insn& in) {
    if (in.mod == 3) c.invalidOpcode();
    writeMem<u32>(c, in, c.regs_[in.reg]);
}

// F3 0F 10: MOVSS xmm, xmm/m32 -- from memory the upper 96 bits are zeroed, between
// registers only the low doubleword moves. F2: MOVSD, the same with a quadword.
template <class E>
void movScalarLoad(Cpu& c, const Insn& in) {
    sseCheck(c);
    Xmm& d = c.xmm_[in.reg];
    if (in.mod == 3) {
        std::memcpy(d.q, c.xmm_[in.rm].q, sizeof(E));
    } else {
        const E v = readMem<E>(c, in);
        d = Xmm{};
        std::memcpy(d.q, &v, sizeof(E));
    }
}
template <class E>
void movScalarStore(Cpu& c, const Insn& in) {
    sseCheck(c);
    E v;
    std::memcpy(&v, c.xmm_[in.reg].q, sizeof(E));
    if (in.mod == 3)
        std::memcpy(c.xmm_[in.rm].q, &v, sizeof(E));
    else
        writeMem<E>(c, in, v);
}

// 0F 12: MOVLPS xmm, m64 / MOVHLPS xmm, xmm; 66: MOVLPD xmm, m64 (memory only)
template <bool RegForm>
void movlpLoad(Cpu& c, const Insn& in) {
    if (!RegForm && in.mod == 3) c.invalidOpcode();
    sseCheck(c);
    c.xmm_[in.reg].q[0] = in.mod == 3 ? c.xmm_[in.rm].q[1] : readMem<u64>(c, in);
}
// 0F 16: MOVHPS xmm, m64 / MOVLHPS xmm, xmm; 66: MOVHPD xmm, m64 (memory only)
template <bool RegForm>
void movhpLoad(Cpu& c, const Insn& in) {
    if (!RegForm && in.mod == 3) c.invalidOpcode();
    sseCheck(c);
    c.xmm_[in.reg].q[1] = in.mod == 3 ? c.xmm_[in.rm].q[0] : readMem<u64>(c, in);
}
// 0F 13 / 0F 17: MOVLPS/MOVLPD, MOVHPS/MOVHPD m64, xmm (memory only)
template <unsigned Half>
void movStoreHalf(Cpu& c, const Insn& in) {
    if (in.mod == 3) c.invalidOpcode();
    sseCheck(c);
    writeMem<u64>(c, in, c.xmm_[in.reg].q[Half]);
}

// 0F 50: MOVMSKPS r32, xmm; 66: MOVMSKPD (registers only): the sign bits
template <bool Double>
void movmsk(Cpu& c, const Insn& in) {
    if (in.mod != 3) c.invalidOpcode();
    sseCheck(c);
    const Xmm& s = c.xmm_[in.rm];
    if constexpr (Double) {
        c.regs_[in.reg] = u32((s.q[0] >> 63) | ((s.q[1] >> 63) << 1));
    } else {
        c.regs_[in.reg] = u32(((s.q[0] >> 31) & 1) | ((s.q[0] >> 62) & 2) |
                              (((s.q[1] >> 31) & 1) << 2) | (((s.q[1] >> 63) & 1) << 3));
    }
}

// ---- bitwise logic on packed single/double (no exceptions but #UD/#NM/#GP) ----
template <int Kind>  // 0 AND, 1 ANDN (NOT dest AND src), 2 OR, 3 XOR
void logic(Cpu& c, const Insn& in) {
    sseCheck(c);
    const Xmm b = xmmSrc<true>(c, in);
    Xmm& d = c.xmm_[in.reg];
    for (unsigned i = 0; i < 2; ++i) {
        if constexpr (Kind == 0)
            d.q[i] &= b.q[i];
        else if constexpr (Kind == 1)
            d.q[i] = ~d.q[i] & b.q[i];
        else if constexpr (Kind == 2)
            d.q[i] |= b.q[i];
        else
            d.q[i] ^= b.q[i];
    }
}

// ---- unpacks and shuffles ----
// 0F 14/15: UNPCKLPS/UNPCKHPS: d = {a[h], b[h], a[h+1], b[h+1]} with h = 0 or 2
template <unsigned H>
void unpckps(Cpu& c, const Insn& in) {
    sseCheck(c);
    const Xmm bx = xmmSrc<true>(c, in);
    u32 a[4], b[4];
    std::memcpy(a, c.xmm_[in.reg].q, 16);
    std::memcpy(b, bx.q, 16);
    const u32 r[4] = {a[H], b[H], a[H + 1], b[H + 1]};
    std::memcpy(c.xmm_[in.reg].q, r, 16);
}
// 66 0F 14/15: UNPCKLPD/UNPCKHPD: d = {a[h], b[h]}
template <unsigned H>
void unpckpd(Cpu& c, const Insn& in) {
    sseCheck(c);
    const Xmm b = xmmSrc<true>(c, in);
    const u64 a = c.xmm_[in.reg].q[H];
    c.xmm_[in.reg] = Xmm{{a, b.q[H]}};
}
// 0F C6: SHUFPS xmm, xmm/m128, ib: two elements of the destination, two of the source
void shufps(Cpu& c, const Insn& in) {
    sseCheck(c);
    const Xmm bx = xmmSrc<true>(c, in);
    u32 a[4], b[4];
    std::memcpy(a, c.xmm_[in.reg].q, 16);
    std::memcpy(b, bx.q, 16);
    const unsigned i = in.imm;
    const u32 r[4] = {a[i & 3], a[(i >> 2) & 3], b[(i >> 4) & 3], b[(i >> 6) & 3]};
    std::memcpy(c.xmm_[in.reg].q, r, 16);
}
// 66 0F C6: SHUFPD xmm, xmm/m128, ib
void shufpd(Cpu& c, const Insn& in) {
    sseCheck(c);
    const Xmm b = xmmSrc<true>(c, in);
    const u64 lo = c.xmm_[in.reg].q[in.imm & 1];
    c.xmm_[in.reg] = Xmm{{lo, b.q[(in.imm >> 1) & 1]}};
}

}  // namespace

void registerSimdMove(OpTable& t) {
    constexpr std::uint8_t kIb = opf::ModRM | opf::Ib;
    setSimd(t, 0x10, T::kPfxNone, load128<false>);  // MOVUPS
    setSimd(t, 0x10, T::kPfx66, load128<false>);    // MOVUPD
    setSimd(t, 0x10, T::kPfxF3, movScalarLoad<u32>);
    setSimd(t, 0x10, T::kPfxF2, movScalarLoad<u64>);
    setSimd(t, 0x11, T::kPfxNone, store128<false>);
    setSimd(t, 0x11, T::kPfx66, store128<false>);
    setSimd(t, 0x11, T::kPfxF3, movScalarStore<u32>);
    setSimd(t, 0x11, T::kPfxF2, movScalarStore<u64>);
    setSimd(t, 0x12, T::kPfxNone, movlpLoad<true>);  // MOVLPS / MOVHLPS
    setSimd(t, 0x12, T::kPfx66, movlpLoad<false>);   // MOVLPD
    setSimd(t, 0x13, T::kPfxNone, movStoreHalf<0>);
    setSimd(t, 0x13, T::kPfx66, movStoreHalf<0>);
    setSimd(t, 0x14, T::kPfxNone, unpckps<0>);
    setSimd(t, 0x14, T::kPfx66, unpckpd<0>);
    setSimd(t, 0x15, T::kPfxNone, unpckps<2>);
    setSimd(t, 0x15, T::kPfx66, unpckpd<1>);
    setSimd(t, 0x16, T::kPfxNone, movhpLoad<true>);  // MOVHPS / MOVLHPS
    setSimd(t, 0x16, T::kPfx66, movhpLoad<false>);   // MOVHPD
    setSimd(t, 0x17, T::kPfxNone, movStoreHalf<1>);
    setSimd(t, 0x17, T::kPfx66, movStoreHalf<1>);
    setSimd(t, 0x28, T::kPfxNone, load128<true>);  // MOVAPS
    setSimd(t, 0x28, T::kPfx66, load128<true>);    // MOVAPD
    setSimd(t, 0x29, T::kPfxNone, store128<true>);
    setSimd(t, 0x29, T::kPfx66, store128<true>);
    setSimd(t, 0x2B, T::kPfxNone, movnt128);  // MOVNTPS
    setSimd(t, 0x2B, T::kPfx66, movnt128);    // MOVNTPD
    setSimd(t, 0x50, T::kPfxNone, movmsk<false>);
    setSimd(t, 0x50, T::kPfx66, movmsk<true>);
    setSimd(t, 0x54, T::kPfxNone, logic<0>);
    setSimd(t, 0x54, T::kPfx66, logic<0>);
    setSimd(t, 0x55, T::kPfxNone, logic<1>);
    setSimd(t, 0x55, T::kPfx66, logic<1>);
    setSimd(t, 0x56, T::kPfxNone, logic<2>);
    setSimd(t, 0x56, T::kPfx66, logic<2>);
    setSimd(t, 0x57, T::kPfxNone, logic<3>);
    setSimd(t, 0x57, T::kPfx66, logic<3>);
    setSimd(t, 0x6E, T::kPfxNone, movdToMm);
    setSimd(t, 0x6E, T::kPfx66, movdToXmm);
    setSimd(t, 0x6F, T::kPfxNone, movqToMm);
    setSimd(t, 0x6F, T::kPfx66, load128<true>);   // MOVDQA
    setSimd(t, 0x6F, T::kPfxF3, load128<false>);  // MOVDQU
    setSimd(t, 0x7E, T::kPfxNone, movdFromMm);
    setSimd(t, 0x7E, T::kPfx66, movdFromXmm);
    setSimd(t, 0x7E, T::kPfxF3, movqToXmm);
    setSimd(t, 0x7F, T::kPfxNone, movqFromMm<false>);
    setSimd(t, 0x7F, T::kPfx66, store128<true>);   // MOVDQA
    setSimd(t, 0x7F, T::kPfxF3, store128<false>);  // MOVDQU
    setSimd(t, 0xC3, T::kPfxNone, movnti);
    setSimd(t, 0xC6, T::kPfxNone, shufps, kIb);
    setSimd(t, 0xC6, T::kPfx66, shufpd, kIb);
    setSimd(t, 0xD6, T::kPfx66, movqFromXmm);
    setSimd(t, 0xD6, T::kPfxF3, movq2dq);
    setSimd(t, 0xD6, T::kPfxF2, movdq2q);
    setSimd(t, 0xE7, T::kPfxNone, movqFromMm<true>);  // MOVNTQ
    setSimd(t, 0xE7, T::kPfx66, movnt128);            // MOVNTDQ
}

}  // namespace cxvm::x86::simd
#endif
