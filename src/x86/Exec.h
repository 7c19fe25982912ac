#pragma once
// Internal to the executor: the opcode table type, operand helpers shared by the
// instruction handlers (Exec*.cpp) and the registration entry points.
#include "x86/Cpu.h"

#include <type_traits>

namespace cxvm::x86 {

// Operand-encoding flags of an opcode table entry (SDM Vol. 2 App. A notation).
namespace opf {
inline constexpr std::uint8_t ModRM = 1, Ib = 2, Iw = 4, Iz = 8, Ap = 16, Moffs = 32,
                              IwIb = 64, TestImm = 128;  // F6/F7: immediate only for /0,/1
}

// A ModRM operand's form, known at decode: the hottest 32-bit handlers come in variants
// without the run-time register/memory branch and without the 16-bit address masking (a
// branch shared by every instruction of a handler mispredicts when register and memory
// forms interleave).
enum class Rm : std::uint8_t {
    Any,   // decided at run time (16-bit operands, rare forms)
    Reg,   // mod == 3
    Mem32,  // memory with a 32-bit address: base + index * scale + disp (each may be "none")
};

struct OpDef {
    Handler h16 = nullptr, h32 = nullptr;
    std::uint8_t flags = 0;
    Handler reg32 = nullptr, mem32 = nullptr;  // the Rm::Reg and Rm::Mem32 variants of h32
};

struct OpTable {
    OpDef one[256];
    OpDef two[256];
    void set1(unsigned op, Handler h16, Handler h32, std::uint8_t f) { set(one[op], h16, h32, f); }
    void set2(unsigned op, Handler h16, Handler h32, std::uint8_t f) { set(two[op], h16, h32, f); }
    static void set(OpDef& d, Handler h16, Handler h32, std::uint8_t f) {
        d.h16 = h16;
        d.h32 = h32;
        d.flags = f;
    }
    void forms1(unsigned op, Handler reg32, Handler mem32) {
        one[op].reg32 = reg32;
        one[op].mem32 = mem32;
    }
    void forms2(unsigned op, Handler reg32, Handler mem32) {
        two[op].reg32 = reg32;
        two[op].mem32 = mem32;
    }
    // Mandatory-prefix opcodes (SDM Vol. 2 2.1.2, opcode map Table A-3): for 0F xx with
    // hasSimd[xx], the last of F3/F2, else 66, else none selects simd[xx][kPfx..]; the
    // combinations no instruction defines are #UD.
    enum : unsigned { kPfxNone = 0, kPfx66 = 1, kPfxF3 = 2, kPfxF2 = 3 };
    OpDef simd[256][4];
    bool hasSimd[256] = {};
    void setSimd(unsigned op, unsigned prefix, Handler h, std::uint8_t f, Handler undefined) {
        if (!hasSimd[op])
            for (auto& d : simd[op]) set(d, undefined, undefined, f);
        hasSimd[op] = true;
        set(simd[op][prefix], h, h, f);
    }
};

void registerAlu(OpTable&);
void registerFlow(OpTable&);
void registerString(OpTable&);
void registerSystem(OpTable&);
void registerSimd(OpTable&);  // MMX, SSE, SSE2 (ExecSimd*.cpp)

// Signed counterpart of an operand type.
template <class T>
using S = std::make_signed_t<T>;
template <class T>
inline constexpr unsigned kBits = sizeof(T) * 8;
template <class T>
inline constexpr T kSign = T(T(1) << (kBits<T> - 1));

[[gnu::always_inline]] inline std::uint32_t ea(const Cpu& c, const Insn& in) {
    std::uint32_t a = c.regs_[in.base] + (c.regs_[in.index] << in.scale) + in.disp;
    return in.a32 ? a : (a & 0xFFFF);
}

template <Rm F>
[[gnu::always_inline]] inline std::uint32_t eaOf(const Cpu& c, const Insn& in) {
    if constexpr (F == Rm::Mem32)
        return c.regs_[in.base] + (c.regs_[in.index] << in.scale) + in.disp;
    else
        return ea(c, in);
}
template <Rm F>
[[gnu::always_inline]] inline bool isReg(const Insn& in) {
    if constexpr (F == Rm::Any) return in.mod == 3;
    return F == Rm::Reg;
}

template <class T, Rm F = Rm::Any>
[[gnu::always_inline]] inline T readRM(Cpu& c, const Insn& in) {
    if (isReg<F>(in)) return c.getReg<T>(in.rm);
    return c.read<T>(in.seg, eaOf<F>(c, in));
}
template <class T, Rm F = Rm::Any>
[[gnu::always_inline]] inline void writeRM(Cpu& c, const Insn& in, T v) {
    if (isReg<F>(in))
        c.setReg<T>(in.rm, v);
    else
        c.write<T>(in.seg, eaOf<F>(c, in), v);
}

// Read-modify-write of r/m: `f(old) -> new`; the address is computed once.
template <class T, Rm Form = Rm::Any, class F>
[[gnu::always_inline]] inline void rmw(Cpu& c, const Insn& in, F&& f) {
    if (isReg<Form>(in)) {
        c.setReg<T>(in.rm, f(c.getReg<T>(in.rm)));
        return;
    }
    const std::uint32_t off = eaOf<Form>(c, in);
    const std::uint32_t lin = c.linear<T>(in.seg, off, true);
    T v = c.readLin<T>(lin, c.userAcc_);
    c.writeLin<T>(lin, f(v), c.userAcc_);
}

template <class T>
T imm(const Insn& in) {
    return static_cast<T>(in.imm);
}

// Near transfer: the target must lie within CS (SDM Vol. 2, JMP: #GP(0)).
inline void jumpTo(Cpu& c, const Insn& in, std::uint32_t target) {
    if (!in.o32) target &= 0xFFFF;
    if (target > c.seg_[CS].hi) [[unlikely]]
        Cpu::raise(vec::GP, 0);
    c.eip_ = target;
}

}  // namespace cxvm::x86
