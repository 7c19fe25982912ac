// Integer data instructions: ALU, INC/DEC, MUL/DIV, shifts and rotates, bit operations,
// BCD, data movement, CMPXCHG/XADD/BSWAP, CMOV/SETcc (SDM Vol. 2).
#include "x86/Exec.h"

namespace cxvm::x86 {

namespace {

using u8 = std::uint8_t;
using u16 = std::uint16_t;
using u32 = std::uint32_t;
using u64 = std::uint64_t;
using FlagOp = Cpu::FlagOp;

enum Alu : unsigned { ADD, OR, ADC, SBB, AND, SUB, XOR, CMP };

template <unsigned K, class T>
T alu(Cpu& c, T a, T b) {
    T r;
    if constexpr (K == ADD) {
        r = T(a + b);
        c.setLazy<T>(FlagOp::Add, a, b, r);
    } else if constexpr (K == OR) {
        r = T(a | b);
        c.setLazy<T>(FlagOp::Logic, a, b, r);
    } else if constexpr (K == ADC) {
        const u32 cf = c.getCF();
        r = T(a + b + cf);
        c.setLazy<T>(cf ? FlagOp::Adc : FlagOp::Add, a, b, r);
    } else if constexpr (K == SBB) {
        const u32 cf = c.getCF();
        r = T(a - b - cf);
        c.setLazy<T>(cf ? FlagOp::Sbb : FlagOp::Sub, a, b, r);
    } else if constexpr (K == AND) {
        r = T(a & b);
        c.setLazy<T>(FlagOp::Logic, a, b, r);
    } else if constexpr (K == XOR) {
        r = T(a ^ b);
        c.setLazy<T>(FlagOp::Logic, a, b, r);
    } else {  // SUB, CMP
        r = T(a - b);
        c.setLazy<T>(FlagOp::Sub, a, b, r);
    }
    return r;
}

template <class T>
[[gnu::always_inline]] inline T aluDyn(Cpu& c, unsigned k, T a, T b) {
    switch (k) {
    case ADD: return alu<ADD>(c, a, b);
    case OR: return alu<OR>(c, a, b);
    case ADC: return alu<ADC>(c, a, b);
    case SBB: return alu<SBB>(c, a, b);
    case AND: return alu<AND>(c, a, b);
    case SUB: return alu<SUB>(c, a, b);
    case XOR: return alu<XOR>(c, a, b);
    default: return alu<CMP>(c, a, b);
    }
}

// op r/m, reg
template <unsigned K, class T, Rm F = Rm::Any>
void aluEG(Cpu& c, const Insn& in) {
    const T b = c.getReg<T>(in.reg);
    if constexpr (K == CMP)
        alu<K>(c, readRM<T, F>(c, in), b);
    else
        rmw<T, F>(c, in, [&](T a) { return alu<K>(c, a, b); });
}
// op reg, r/m
template <unsigned K, class T, Rm F = Rm::Any>
void aluGE(Cpu& c, const Insn& in) {
    const T r = alu<K>(c, c.getReg<T>(in.reg), readRM<T, F>(c, in));
    if constexpr (K != CMP) c.setReg<T>(in.reg, r);
}
// op AL/eAX, imm
template <unsigned K, class T>
void aluAI(Cpu& c, const Insn& in) {
    const T r = alu<K>(c, c.getReg<T>(EAX), imm<T>(in));
    if constexpr (K != CMP) c.setReg<T>(EAX, r);
}
// 80/81/83: op r/m, imm (83 sign-extends imm8)
template <class T, bool SignExt8, Rm F = Rm::Any>
void group1(Cpu& c, const Insn& in) {
    const T b = SignExt8 ? T(static_cast<std::int8_t>(in.imm)) : imm<T>(in);
    if (in.reg == CMP)
        alu<CMP>(c, readRM<T, F>(c, in), b);
    else
        rmw<T, F>(c, in, [&](T a) { return aluDyn<T>(c, in.reg, a, b); });
}

template <class T, Rm F = Rm::Any>
void testEG(Cpu& c, const Insn& in) {
    alu<AND>(c, readRM<T, F>(c, in), c.getReg<T>(in.reg));
}
template <class T>
void testAI(Cpu& c, const Insn& in) {
    alu<AND>(c, c.getReg<T>(EAX), imm<T>(in));
}

template <class T>
T incT(Cpu& c, T a) {
    T r = T(a + 1);
    c.setLazy<T>(FlagOp::Inc, a, 1, r);
    return r;
}
template <class T>
T decT(Cpu& c, T a) {
    T r = T(a - 1);
    c.setLazy<T>(FlagOp::Dec, a, 1, r);
    return r;
}
template <class T>
void incReg(Cpu& c, const Insn& in) {
    c.setReg<T>(in.op & 7, incT<T>(c, c.getReg<T>(in.op & 7)));
}
template <class T>
void decReg(Cpu& c, const Insn& in) {
    c.setReg<T>(in.op & 7, decT<T>(c, c.getReg<T>(in.op & 7)));
}

// ---- F6/F7: TEST NOT NEG MUL IMUL DIV IDIV
template <class T>
void group3(Cpu& c, const Insn& in) {
    using W = std::conditional_t<sizeof(T) == 4, u64, u32>;
    using SW = std::make_signed_t<W>;
    switch (in.reg) {
    case 0:
    case 1: alu<AND>(c, readRM<T>(c, in), imm<T>(in)); return;
    case 2: rmw<T>(c, in, [](T a) { return T(~a); }); return;
    case 3:
        rmw<T>(c, in, [&](T a) {
            T r = T(0 - a);
            c.setLazy<T>(FlagOp::Sub, 0, a, r);
            return r;
        });
        return;
    default: break;
    }
    const T src = readRM<T>(c, in);
    auto setResult = [&](W v) {  // AX / DX:AX / EDX:EAX
        if constexpr (sizeof(T) == 1) {
            c.setReg<u16>(EAX, u16(v));
        } else {
            c.setReg<T>(EAX, T(v));
            c.setReg<T>(EDX, T(v >> kBits<T>));
        }
    };
    auto dividend = [&]() -> W {
        if constexpr (sizeof(T) == 1)
            return c.getReg<u16>(EAX);
        else
            return (W(c.getReg<T>(EDX)) << kBits<T>) | c.getReg<T>(EAX);
    };
    auto setQR = [&](T q, T r) {
        if constexpr (sizeof(T) == 1) {
            c.setReg<u16>(EAX, u16(q | (u16(r) << 8)));
        } else {
            c.setReg<T>(EAX, q);
            c.setReg<T>(EDX, r);
        }
    };
    switch (in.reg) {
    case 4: {  // MUL: CF=OF=upper half non-zero; SZP from the low half (undefined)
        const W r = W(c.getReg<T>(EAX)) * W(src);
        setResult(r);
        const bool hi = (r >> kBits<T>) != 0;
        c.setLazyCarryOverflow<T>(T(r), hi, hi);
        return;
    }
    case 5: {  // IMUL one operand
        const SW r = SW(S<T>(c.getReg<T>(EAX))) * SW(S<T>(src));
        setResult(W(r));
        const bool ovf = r != SW(S<T>(T(r)));
        c.setLazyCarryOverflow<T>(T(r), ovf, ovf);
        return;
    }
    case 6: {  // DIV
        if (src == 0) Cpu::raise(vec::DE);
        const W d = dividend();
        const W q = d / src;
        if (q >> kBits<T>) Cpu::raise(vec::DE);
        setQR(T(q), T(d % src));
        return;
    }
    default: {  // IDIV
        if (src == 0) Cpu::raise(vec::DE);
        // IDIV r/m8 divides the signed 16-bit AX (the wide type would zero-extend it).
        const SW d = sizeof(T) == 1 ? SW(std::int16_t(dividend())) : SW(dividend());
        const SW s = SW(S<T>(src));
        if (d == std::numeric_limits<SW>::min() && s == -1) Cpu::raise(vec::DE);
        const SW q = d / s;
        if (q != SW(S<T>(T(q)))) Cpu::raise(vec::DE);
        setQR(T(q), T(d % s));
        return;
    }
    }
}

// FE/FF /0 /1 (the control-transfer forms of FF live in ExecFlow.cpp)
template <class T>
void incDecRM(Cpu& c, const Insn& in) {
    if (in.reg > 1) c.invalidOpcode();
    if (in.reg == 0)
        rmw<T>(c, in, [&](T a) { return incT<T>(c, a); });
    else
        rmw<T>(c, in, [&](T a) { return decT<T>(c, a); });
}

template <class T>
void imulCommon(Cpu& c, const Insn& in, T a, T b) {
    using SW = std::int64_t;
    const SW r = SW(S<T>(a)) * SW(S<T>(b));
    c.setReg<T>(in.reg, T(r));
    const bool ovf = r != SW(S<T>(T(r)));
    // CF = OF = overflow; SF/ZF/PF from the low half and AF clear (undefined, as the
    // host CPU sets them).
    c.setLazyCarryOverflow<T>(T(r), ovf, ovf);
}
template <class T, Rm F = Rm::Any>
void imulGE(Cpu& c, const Insn& in) {
    imulCommon<T>(c, in, c.getReg<T>(in.reg), readRM<T, F>(c, in));
}
template <class T>
void imulGEIz(Cpu& c, const Insn& in) {
    imulCommon<T>(c, in, readRM<T>(c, in), imm<T>(in));
}
template <class T>
void imulGEIb(Cpu& c, const Insn& in) {
    imulCommon<T>(c, in, readRM<T>(c, in), T(static_cast<std::int8_t>(in.imm)));
}

// ---- shifts and rotates (C0/C1/D0-D3 group 2)
template <class T>
[[gnu::always_inline]] inline T shiftOp(Cpu& c, unsigned kind, T a, unsigned count) {
    count &= 31;
    if (count == 0) return a;
    constexpr unsigned N = kBits<T>;
    u32 cf = 0, of = 0;
    T r = a;
    switch (kind) {
    case 0: {  // ROL: only CF, OF
        const unsigned n = count % N;
        r = n ? T((a << n) | (a >> (N - n))) : a;
        cf = r & 1;
        of = ((r >> (N - 1)) & 1) ^ cf;
        c.setFlags(fl::CF | fl::OF, (cf ? fl::CF : 0) | (of ? fl::OF : 0));
        return r;
    }
    case 1: {  // ROR
        const unsigned n = count % N;
        r = n ? T((a >> n) | (a << (N - n))) : a;
        cf = (r >> (N - 1)) & 1;
        of = cf ^ ((r >> (N - 2)) & 1);
        c.setFlags(fl::CF | fl::OF, (cf ? fl::CF : 0) | (of ? fl::OF : 0));
        return r;
    }
    case 2:
    case 3: {  // RCL / RCR through CF: N+1 bit rotation
        const unsigned n = count % (N + 1);
        u64 v = u64(a) | (u64(c.getCF()) << N);
        const u64 mask = (u64(1) << (N + 1)) - 1;
        if (n) {
            if (kind == 2)
                v = ((v << n) | (v >> (N + 1 - n))) & mask;
            else
                v = ((v >> n) | (v << (N + 1 - n))) & mask;
        }
        r = T(v);
        cf = (v >> N) & 1;
        if (kind == 2)
            of = ((r >> (N - 1)) & 1) ^ cf;
        else
            of = ((r >> (N - 1)) ^ (r >> (N - 2))) & 1;
        c.setFlags(fl::CF | fl::OF, (cf ? fl::CF : 0) | (of ? fl::OF : 0));
        return r;
    }
    case 4:
    case 6:  // SHL/SAL
        r = count < N ? T(a << count) : T(0);
        cf = count <= N ? (a >> (N - count)) & 1 : 0;
        of = ((r >> (N - 1)) & 1) ^ cf;
        break;
    case 5:  // SHR
        r = count < N ? T(a >> count) : T(0);
        cf = count <= N ? (a >> (count - 1)) & 1 : 0;
        of = (a >> (N - 1)) & 1;
        break;
    default: {  // SAR
        const S<T> sa = S<T>(a);
        r = T(count < N ? sa >> count : sa >> (N - 1));
        cf = (count < N ? (sa >> (count - 1)) : (sa >> (N - 1))) & 1;
        of = 0;
        break;
    }
    }
    c.setLazyCarryOverflow<T>(r, cf, of);
    return r;
}

template <class T, int Count, Rm F = Rm::Any>  // Count: -1 = CL, 0 = imm8, 1 = one
void group2(Cpu& c, const Insn& in) {
    const unsigned n = Count == -1 ? (c.regs_[ECX] & 0xFF) : Count == 0 ? in.imm : 1u;
    if ((n & 31) == 0) {
        // No change, but still a read-modify-write access: a read-only destination
        // faults as for any other count (the host CPU does; see docs/x86-diff.md).
        rmw<T, F>(c, in, [](T a) { return a; });
        return;
    }
    rmw<T, F>(c, in, [&](T a) { return shiftOp<T>(c, in.reg, a, n); });
}

// SHLD/SHRD (0F A4/A5/AC/AD)
template <class T, bool Left, bool UseCl>
void shxd(Cpu& c, const Insn& in) {
    const unsigned n = (UseCl ? c.regs_[ECX] : in.imm) & 31;
    if (n == 0) {
        rmw<T>(c, in, [](T a) { return a; });  // an RMW access even when nothing changes
        return;
    }
    constexpr unsigned N = kBits<T>;
    const T src = c.getReg<T>(in.reg);
    rmw<T>(c, in, [&](T a) {
        u64 r;
        u32 cf;
        if (Left) {
            const u64 v = (u64(a) << N) | src;
            r = ((v << n) >> N) & Cpu::sizeMask(sizeof(T));
            cf = (v >> (2 * N - n)) & 1;
        } else {
            const u64 v = (u64(src) << N) | a;
            r = (v >> n) & Cpu::sizeMask(sizeof(T));
            cf = (v >> (n - 1)) & 1;
        }
        const T res = T(r);
        const u32 of = ((res ^ a) >> (N - 1)) & 1;
        c.setLazyCarryOverflow<T>(res, cf, of);
        return res;
    });
}

// ---- bit test family (0F A3/AB/B3/BB, 0F BA)
template <class T>
void bitOp(Cpu& c, const Insn& in, unsigned kind, std::int32_t bitOff, bool regOffset) {
    constexpr unsigned N = kBits<T>;
    auto apply = [&](T v, unsigned bit) -> T {
        const T m = T(T(1) << bit);
        c.setFlags(fl::CF, (v & m) ? fl::CF : 0);
        switch (kind) {
        case 1: return T(v | m);
        case 2: return T(v & ~m);
        case 3: return T(v ^ m);
        default: return v;
        }
    };
    if (in.mod == 3) {
        const unsigned bit = unsigned(bitOff) & (N - 1);
        const T v = c.getReg<T>(in.rm);
        const T r = apply(v, bit);
        if (kind) c.setReg<T>(in.rm, r);
        return;
    }
    std::uint32_t off = ea(c, in);
    unsigned bit;
    if (regOffset) {
        off += std::uint32_t((bitOff >> (N == 16 ? 4 : 5)) * std::int32_t(sizeof(T)));
        if (!in.a32) off &= 0xFFFF;
        bit = unsigned(bitOff) & (N - 1);
    } else {
        bit = unsigned(bitOff) & (N - 1);
    }
    if (kind == 0) {
        apply(c.read<T>(in.seg, off), bit);
        return;
    }
    const std::uint32_t lin = c.linear<T>(in.seg, off, true);
    const T v = c.readLin<T>(lin, c.userAcc_);
    c.writeLin<T>(lin, apply(v, bit), c.userAcc_);
}
template <class T, unsigned Kind>
void btReg(Cpu& c, const Insn& in) {
    const std::int32_t off = sizeof(T) == 2 ? std::int32_t(std::int16_t(c.getReg<T>(in.reg)))
                                            : std::int32_t(c.getReg<T>(in.reg));
    bitOp<T>(c, in, Kind, off, true);
}
template <class T>
void group8(Cpu& c, const Insn& in) {
    if (in.reg < 4) c.invalidOpcode();
    bitOp<T>(c, in, in.reg - 4, std::int32_t(in.imm & 0xFF), false);
}

template <class T, bool Reverse>
void bitScan(Cpu& c, const Insn& in) {
    const T v = readRM<T>(c, in);
    if (v == 0) {
        c.setLazy<T>(FlagOp::Logic, 0, 0, 0);  // ZF=1
        return;
    }
    unsigned idx = Reverse ? 31 - unsigned(__builtin_clz(u32(v))) : unsigned(__builtin_ctz(u32(v)));
    c.setReg<T>(in.reg, T(idx));
    c.setLazy<T>(FlagOp::Logic, 0, 0, 1);  // ZF=0
}

// ---- BCD (SDM Vol. 2 pseudocode)
void daa(Cpu& c, const Insn&) {
    u8 al = c.getReg<u8>(EAX);
    const u32 f = c.arithFlags();
    const u8 oldAl = al;
    const bool oldCf = f & fl::CF;
    u32 cf = 0, af = 0;
    if ((al & 0xF) > 9 || (f & fl::AF)) {
        al = u8(al + 6);
        cf = oldCf || oldAl > 0xF9;
        af = 1;
    }
    if (oldAl > 0x99 || oldCf) {
        al = u8(al + 0x60);
        cf = 1;
    }
    c.setReg<u8>(EAX, al);
    c.setLazy<u8>(FlagOp::Logic, 0, 0, al);
    c.setFlags(fl::CF | fl::AF, (cf ? fl::CF : 0) | (af ? fl::AF : 0));
}
void das(Cpu& c, const Insn&) {
    u8 al = c.getReg<u8>(EAX);
    const u32 f = c.arithFlags();
    const u8 oldAl = al;
    const bool oldCf = f & fl::CF;
    u32 cf = 0, af = 0;
    if ((al & 0xF) > 9 || (f & fl::AF)) {
        al = u8(al - 6);
        cf = oldCf || oldAl < 6;
        af = 1;
    }
    if (oldAl > 0x99 || oldCf) {
        al = u8(al - 0x60);
        cf = 1;
    }
    c.setReg<u8>(EAX, al);
    c.setLazy<u8>(FlagOp::Logic, 0, 0, al);
    c.setFlags(fl::CF | fl::AF, (cf ? fl::CF : 0) | (af ? fl::AF : 0));
}
template <bool Sub>
void aaaAas(Cpu& c, const Insn&) {
    const u32 f = c.arithFlags();
    u16 ax = c.getReg<u16>(EAX);
    bool adj = (ax & 0xF) > 9 || (f & fl::AF);
    if (adj) {
        if (Sub) {
            ax = u16(ax - 6);
            ax = u16(ax - 0x100);
        } else {
            ax = u16(ax + 0x106);
        }
    }
    ax &= 0xFF0F;
    c.setReg<u16>(EAX, ax);
    c.setLazy<u8>(FlagOp::Logic, 0, 0, u8(ax));
    c.setFlags(fl::CF | fl::AF, adj ? (fl::CF | fl::AF) : 0);
}
void aam(Cpu& c, const Insn& in) {
    const u8 base = u8(in.imm);
    if (base == 0) Cpu::raise(vec::DE);
    const u8 al = c.getReg<u8>(EAX);
    const u8 r = u8(al % base);
    c.setReg<u16>(EAX, u16((u16(al / base) << 8) | r));
    c.setLazy<u8>(FlagOp::Logic, 0, 0, r);
}
void aad(Cpu& c, const Insn& in) {
    const u16 ax = c.getReg<u16>(EAX);
    const u8 al = u8((ax & 0xFF) + (ax >> 8) * u8(in.imm));
    c.setReg<u16>(EAX, al);
    c.setLazy<u8>(FlagOp::Logic, 0, 0, al);
}
void salc(Cpu& c, const Insn&) { c.setReg<u8>(EAX, c.getCF() ? 0xFF : 0); }

// ---- data movement
template <class T, Rm F = Rm::Any>
void movEG(Cpu& c, const Insn& in) {
    writeRM<T, F>(c, in, c.getReg<T>(in.reg));
}
template <class T, Rm F = Rm::Any>
void movGE(Cpu& c, const Insn& in) {
    c.setReg<T>(in.reg, readRM<T, F>(c, in));
}
template <class T, Rm F = Rm::Any>
void movEI(Cpu& c, const Insn& in) {
    writeRM<T, F>(c, in, imm<T>(in));
}
template <class T>
void movRI(Cpu& c, const Insn& in) {
    c.setReg<T>(in.op & 7, imm<T>(in));
}
template <class T>
void movAO(Cpu& c, const Insn& in) {  // A0/A1: acc <- moffs
    c.setReg<T>(EAX, c.read<T>(in.seg, in.disp));
}
template <class T>
void movOA(Cpu& c, const Insn& in) {  // A2/A3
    c.write<T>(in.seg, in.disp, c.getReg<T>(EAX));
}
template <class T, Rm F = Rm::Any>
void lea(Cpu& c, const Insn& in) {
    if (isReg<F>(in)) c.invalidOpcode();
    c.setReg<T>(in.reg, T(eaOf<F>(c, in)));
}
template <class T, class Src, bool Signed, Rm F = Rm::Any>
void movx(Cpu& c, const Insn& in) {
    const Src v = readRM<Src, F>(c, in);
    if (Signed)
        c.setReg<T>(in.reg, T(S<T>(S<Src>(v))));
    else
        c.setReg<T>(in.reg, T(v));
}
template <class T>
void xchgEG(Cpu& c, const Insn& in) {
    const T r = c.getReg<T>(in.reg);
    T old{};
    rmw<T>(c, in, [&](T a) {
        old = a;
        return r;
    });
    c.setReg<T>(in.reg, old);
}
template <class T>
void xchgAcc(Cpu& c, const Insn& in) {
    const unsigned r = in.op & 7;
    const T a = c.getReg<T>(EAX);
    c.setReg<T>(EAX, c.getReg<T>(r));
    c.setReg<T>(r, a);
}
void nop(Cpu&, const Insn&) {}
template <class T>
void cbw(Cpu& c, const Insn&) {  // CBW / CWDE
    if constexpr (sizeof(T) == 2)
        c.setReg<u16>(EAX, u16(std::int16_t(std::int8_t(c.getReg<u8>(EAX)))));
    else
        c.regs_[EAX] = u32(std::int32_t(std::int16_t(c.getReg<u16>(EAX))));
}
template <class T>
void cwd(Cpu& c, const Insn&) {  // CWD / CDQ
    c.setReg<T>(EDX, (c.getReg<T>(EAX) & kSign<T>) ? T(~T(0)) : T(0));
}
void xlat(Cpu& c, const Insn& in) {
    std::uint32_t off = c.regs_[EBX] + c.getReg<u8>(EAX);
    if (!in.a32) off &= 0xFFFF;
    c.setReg<u8>(EAX, c.read<u8>(in.seg, off));
}
void lahf(Cpu& c, const Insn&) { c.setReg<u8>(4, u8(c.eflags())); }
void sahf(Cpu& c, const Insn&) {
    c.setFlags(fl::SF | fl::ZF | fl::AF | fl::PF | fl::CF, c.getReg<u8>(4));
}
void cmc(Cpu& c, const Insn&) { c.setFlags(fl::CF, c.getCF() ? 0 : fl::CF); }
void clc(Cpu& c, const Insn&) { c.setFlags(fl::CF, 0); }
void stc(Cpu& c, const Insn&) { c.setFlags(fl::CF, fl::CF); }
void cld(Cpu& c, const Insn&) { c.eflags_ &= ~fl::DF; }
void stdf(Cpu& c, const Insn&) { c.eflags_ |= fl::DF; }

// CMOVcc r16, r/m16 (the 32-bit forms are cmovT, per condition).
void cmov16(Cpu& c, const Insn& in) {
    const u16 v = readRM<u16>(c, in);  // the source is read (and may fault) either way
    if (c.cond(in.op & 0xF)) c.setReg<u16>(in.reg, v);
}
// CMOVcc r32, r/m32 with the condition known at decode.
template <unsigned CC, Rm F>
void cmovT(Cpu& c, const Insn& in) {
    const u32 v = readRM<u32, F>(c, in);
    c.regs_[in.reg] = c.condT<CC>() ? v : c.regs_[in.reg];
}
void setcc(Cpu& c, const Insn& in) { writeRM<u8>(c, in, c.cond(in.op & 0xF) ? 1 : 0); }
template <unsigned CC>
void setccT(Cpu& c, const Insn& in) {
    writeRM<u8>(c, in, c.condT<CC>() ? 1 : 0);
}

template <class T>
void cmpxchg(Cpu& c, const Insn& in) {
    const T acc = c.getReg<T>(EAX);
    const T src = c.getReg<T>(in.reg);
    if (in.mod == 3) {
        const T d = c.getReg<T>(in.rm);
        alu<CMP>(c, acc, d);
        if (acc == d)
            c.setReg<T>(in.rm, src);
        else
            c.setReg<T>(EAX, d);
        return;
    }
    const std::uint32_t lin = c.linear<T>(in.seg, ea(c, in), true);
    const T d = c.readLin<T>(lin, c.userAcc_);
    // The destination is always written (the old value on failure), SDM CMPXCHG.
    c.writeLin<T>(lin, acc == d ? src : d, c.userAcc_);
    alu<CMP>(c, acc, d);
    if (acc != d) c.setReg<T>(EAX, d);
}
void cmpxchg8b(Cpu& c, const Insn& in) {
    if (in.mod == 3 || in.reg != 1) c.invalidOpcode();
    const std::uint32_t lin = c.linear<u64>(in.seg, ea(c, in), true);
    const u64 d = c.readLin<u64>(lin, c.userAcc_);
    const u64 cmp = (u64(c.regs_[EDX]) << 32) | c.regs_[EAX];
    if (d == cmp) {
        c.writeLin<u64>(lin, (u64(c.regs_[ECX]) << 32) | c.regs_[EBX], c.userAcc_);
        c.setFlags(fl::ZF, fl::ZF);
    } else {
        c.writeLin<u64>(lin, d, c.userAcc_);
        c.regs_[EAX] = u32(d);
        c.regs_[EDX] = u32(d >> 32);
        c.setFlags(fl::ZF, 0);
    }
}
template <class T>
void xadd(Cpu& c, const Insn& in) {
    const T src = c.getReg<T>(in.reg);
    T old{};
    rmw<T>(c, in, [&](T a) {
        old = a;
        return alu<ADD>(c, a, src);
    });
    // SDM XADD: SRC <- DEST, then DEST <- sum; with one register the sum wins.
    if (in.isMem() || in.rm != in.reg) c.setReg<T>(in.reg, old);
}
void bswap(Cpu& c, const Insn& in) {
    const unsigned r = in.op & 7;
    c.regs_[r] = __builtin_bswap32(c.regs_[r]);
}

}  // namespace

#define CXVM_V(fn) &fn<u16>, &fn<u32>

void registerAlu(OpTable& t) {
    using namespace opf;
    auto aluRow = [&]<unsigned K>() {
        const unsigned b = K * 8;
        t.set1(b + 0, &aluEG<K, u8>, &aluEG<K, u8>, ModRM);
        t.set1(b + 1, &aluEG<K, u16>, &aluEG<K, u32>, ModRM);
        t.set1(b + 2, &aluGE<K, u8>, &aluGE<K, u8>, ModRM);
        t.set1(b + 3, &aluGE<K, u16>, &aluGE<K, u32>, ModRM);
        t.forms1(b + 1, &aluEG<K, u32, Rm::Reg>, &aluEG<K, u32, Rm::Mem32>);
        t.forms1(b + 3, &aluGE<K, u32, Rm::Reg>, &aluGE<K, u32, Rm::Mem32>);
        t.set1(b + 4, &aluAI<K, u8>, &aluAI<K, u8>, Ib);
        t.set1(b + 5, &aluAI<K, u16>, &aluAI<K, u32>, Iz);
    };
    aluRow.operator()<ADD>();
    aluRow.operator()<OR>();
    aluRow.operator()<ADC>();
    aluRow.operator()<SBB>();
    aluRow.operator()<AND>();
    aluRow.operator()<SUB>();
    aluRow.operator()<XOR>();
    aluRow.operator()<CMP>();
    t.set1(0x27, daa, daa, 0);
    t.set1(0x2F, das, das, 0);
    t.set1(0x37, aaaAas<false>, aaaAas<false>, 0);
    t.set1(0x3F, aaaAas<true>, aaaAas<true>, 0);
    for (unsigned r = 0; r < 8; ++r) {
        t.set1(0x40 + r, CXVM_V(incReg), 0);
        t.set1(0x48 + r, CXVM_V(decReg), 0);
        t.set1(0x90 + r, CXVM_V(xchgAcc), 0);
        t.set1(0xB0 + r, &movRI<u8>, &movRI<u8>, Ib);
        t.set1(0xB8 + r, CXVM_V(movRI), Iz);
        t.set2(0xC8 + r, bswap, bswap, 0);
    }
    t.set1(0x90, nop, nop, 0);
    t.set1(0x69, CXVM_V(imulGEIz), ModRM | Iz);
    t.set1(0x6B, CXVM_V(imulGEIb), ModRM | Ib);
    t.set1(0x80, &group1<u8, false>, &group1<u8, false>, ModRM | Ib);
    t.set1(0x81, &group1<u16, false>, &group1<u32, false>, ModRM | Iz);
    t.set1(0x82, &group1<u8, false>, &group1<u8, false>, ModRM | Ib);
    t.set1(0x83, &group1<u16, true>, &group1<u32, true>, ModRM | Ib);
    t.set1(0x84, &testEG<u8>, &testEG<u8>, ModRM);
    t.set1(0x85, CXVM_V(testEG), ModRM);
    t.set1(0x86, &xchgEG<u8>, &xchgEG<u8>, ModRM);
    t.set1(0x87, CXVM_V(xchgEG), ModRM);
    t.set1(0x88, &movEG<u8>, &movEG<u8>, ModRM);
    t.set1(0x89, CXVM_V(movEG), ModRM);
    t.set1(0x8A, &movGE<u8>, &movGE<u8>, ModRM);
    t.forms1(0x88, &movEG<u8, Rm::Reg>, &movEG<u8, Rm::Mem32>);
    t.forms1(0x8A, &movGE<u8, Rm::Reg>, &movGE<u8, Rm::Mem32>);
    t.set1(0x8B, CXVM_V(movGE), ModRM);
    t.set1(0x8D, CXVM_V(lea), ModRM);
    t.forms1(0x8D, nullptr, &lea<u32, Rm::Mem32>);
    t.forms1(0x81, &group1<u32, false, Rm::Reg>, &group1<u32, false, Rm::Mem32>);
    t.forms1(0x83, &group1<u32, true, Rm::Reg>, &group1<u32, true, Rm::Mem32>);
    t.forms1(0x85, &testEG<u32, Rm::Reg>, &testEG<u32, Rm::Mem32>);
    t.forms1(0x89, &movEG<u32, Rm::Reg>, &movEG<u32, Rm::Mem32>);
    t.forms1(0x8B, &movGE<u32, Rm::Reg>, &movGE<u32, Rm::Mem32>);
    t.forms1(0xC7, &movEI<u32, Rm::Reg>, &movEI<u32, Rm::Mem32>);
    t.forms1(0xC1, &group2<u32, 0, Rm::Reg>, &group2<u32, 0, Rm::Mem32>);
    t.forms1(0xD1, &group2<u32, 1, Rm::Reg>, &group2<u32, 1, Rm::Mem32>);
    t.forms1(0xD3, &group2<u32, -1, Rm::Reg>, &group2<u32, -1, Rm::Mem32>);
    t.set1(0x98, CXVM_V(cbw), 0);
    t.set1(0x99, CXVM_V(cwd), 0);
    t.set1(0x9E, sahf, sahf, 0);
    t.set1(0x9F, lahf, lahf, 0);
    t.set1(0xA0, &movAO<u8>, &movAO<u8>, Moffs);
    t.set1(0xA1, CXVM_V(movAO), Moffs);
    t.set1(0xA2, &movOA<u8>, &movOA<u8>, Moffs);
    t.set1(0xA3, CXVM_V(movOA), Moffs);
    t.set1(0xA8, &testAI<u8>, &testAI<u8>, Ib);
    t.set1(0xA9, CXVM_V(testAI), Iz);
    t.set1(0xC0, &group2<u8, 0>, &group2<u8, 0>, ModRM | Ib);
    t.set1(0xC1, &group2<u16, 0>, &group2<u32, 0>, ModRM | Ib);
    t.set1(0xC6, &movEI<u8>, &movEI<u8>, ModRM | Ib);
    t.set1(0xC7, CXVM_V(movEI), ModRM | Iz);
    t.set1(0xD0, &group2<u8, 1>, &group2<u8, 1>, ModRM);
    t.set1(0xD1, &group2<u16, 1>, &group2<u32, 1>, ModRM);
    t.set1(0xD2, &group2<u8, -1>, &group2<u8, -1>, ModRM);
    t.set1(0xD3, &group2<u16, -1>, &group2<u32, -1>, ModRM);
    t.set1(0xD4, aam, aam, Ib);
    t.set1(0xD5, aad, aad, Ib);
    t.set1(0xD6, salc, salc, 0);
    t.set1(0xD7, xlat, xlat, 0);
    t.set1(0xF5, cmc, cmc, 0);
    t.set1(0xF6, &group3<u8>, &group3<u8>, ModRM | TestImm);
    t.set1(0xF7, CXVM_V(group3), ModRM | TestImm);
    t.set1(0xF8, clc, clc, 0);
    t.set1(0xF9, stc, stc, 0);
    t.set1(0xFC, cld, cld, 0);
    t.set1(0xFD, stdf, stdf, 0);
    t.set1(0xFE, &incDecRM<u8>, &incDecRM<u8>, ModRM);  // /2.. are #UD (checked in flow)

    [&]<unsigned... CC>(std::integer_sequence<unsigned, CC...>) {
        ((t.set2(0x40 + CC, cmov16, &cmovT<CC, Rm::Any>, ModRM),
          t.forms2(0x40 + CC, &cmovT<CC, Rm::Reg>, &cmovT<CC, Rm::Mem32>),
          t.set2(0x90 + CC, setcc, &setccT<CC>, ModRM)),
         ...);
    }(std::make_integer_sequence<unsigned, 16>{});
    t.set2(0xA3, &btReg<u16, 0>, &btReg<u32, 0>, ModRM);
    t.set2(0xAB, &btReg<u16, 1>, &btReg<u32, 1>, ModRM);
    t.set2(0xB3, &btReg<u16, 2>, &btReg<u32, 2>, ModRM);
    t.set2(0xBB, &btReg<u16, 3>, &btReg<u32, 3>, ModRM);
    t.set2(0xBA, CXVM_V(group8), ModRM | Ib);
    t.set2(0xA4, &shxd<u16, true, false>, &shxd<u32, true, false>, ModRM | Ib);
    t.set2(0xA5, &shxd<u16, true, true>, &shxd<u32, true, true>, ModRM);
    t.set2(0xAC, &shxd<u16, false, false>, &shxd<u32, false, false>, ModRM | Ib);
    t.set2(0xAD, &shxd<u16, false, true>, &shxd<u32, false, true>, ModRM);
    t.set2(0xAF, CXVM_V(imulGE), ModRM);
    t.forms2(0xAF, &imulGE<u32, Rm::Reg>, &imulGE<u32, Rm::Mem32>);
    t.set2(0xB0, &cmpxchg<u8>, &cmpxchg<u8>, ModRM);
    t.set2(0xB1, CXVM_V(cmpxchg), ModRM);
    t.set2(0xB6, &movx<u16, u8, false>, &movx<u32, u8, false>, ModRM);
    t.set2(0xB7, &movx<u16, u16, false>, &movx<u32, u16, false>, ModRM);
    t.set2(0xBE, &movx<u16, u8, true>, &movx<u32, u8, true>, ModRM);
    t.set2(0xBF, &movx<u16, u16, true>, &movx<u32, u16, true>, ModRM);
    t.forms2(0xB6, &movx<u32, u8, false, Rm::Reg>, &movx<u32, u8, false, Rm::Mem32>);
    t.forms2(0xB7, &movx<u32, u16, false, Rm::Reg>, &movx<u32, u16, false, Rm::Mem32>);
    t.forms2(0xBE, &movx<u32, u8, true, Rm::Reg>, &movx<u32, u8, true, Rm::Mem32>);
    t.forms2(0xBF, &movx<u32, u16, true, Rm::Reg>, &movx<u32, u16, true, Rm::Mem32>);
    t.set2(0xBC, &bitScan<u16, false>, &bitScan<u32, false>, ModRM);
    t.set2(0xBD, &bitScan<u16, true>, &bitScan<u32, true>, ModRM);
    t.set2(0xC0, &xadd<u8>, &xadd<u8>, ModRM);
    t.set2(0xC1, CXVM_V(xadd), ModRM);
    t.set2(0xC7, cmpxchg8b, cmpxchg8b, ModRM);
    for (unsigned h = 0x18; h <= 0x1F; ++h) t.set2(h, nop, nop, ModRM);  // hint NOPs
}

#undef CXVM_V

}  // namespace cxvm::x86
