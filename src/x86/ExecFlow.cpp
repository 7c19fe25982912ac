// Control transfer and stack instructions: Jcc/JMP/CALL/RET/LOOP, far forms, INT/IRET,
// PUSH/POP (incl. segment registers, PUSHA/POPA, PUSHF/POPF), ENTER/LEAVE, BOUND,
// segment loads (MOV Sreg, LDS/LES/LSS/LFS/LGS) (SDM Vol. 2).
#include "x86/Exec.h"

#include <utility>

namespace cxvm::x86 {

namespace {

using u8 = std::uint8_t;
using u16 = std::uint16_t;
using u32 = std::uint32_t;

template <class T, unsigned CC>
void jcc(Cpu& c, const Insn& in) {  // rel8 (70-7F) and rel16/32 (0F 80-8F)
    if (c.condT<CC>()) {
        const u32 rel = in.twoByte ? in.imm : u32(std::int32_t(std::int8_t(in.imm)));
        jumpTo(c, in, c.eip_ + rel);
    }
}
template <class T>
void jmpRel(Cpu& c, const Insn& in) {
    const u32 rel = in.op == 0xEB ? u32(std::int32_t(std::int8_t(in.imm))) : in.imm;
    jumpTo(c, in, c.eip_ + rel);
}
template <class T>
void callRel(Cpu& c, const Insn& in) {
    const u32 target = c.eip_ + in.imm;
    const u32 t = in.o32 ? target : (target & 0xFFFF);
    if (t > c.seg_[CS].hi) Cpu::raise(vec::GP, 0);
    c.push<T>(T(c.eip_));
    c.eip_ = t;
}
template <class T>
void retNear(Cpu& c, const Insn& in) {
    const T target = c.pop<T>();
    if (target > c.seg_[CS].hi) Cpu::raise(vec::GP, 0);
    c.eip_ = target;
    if (in.op == 0xC2) {
        const u32 sp = c.regs_[ESP] + in.imm;
        c.setSP(sp);
    }
}
template <class T>
void retFar(Cpu& c, const Insn& in) {
    c.farReturn(in.o32, in.op == 0xCA ? u16(in.imm) : 0);
}
// LOOP/LOOPE/LOOPNE/JCXZ: the counter is CX or ECX by address size.
template <class T>
void loopOp(Cpu& c, const Insn& in) {
    u32 cnt = in.a32 ? c.regs_[ECX] : (c.regs_[ECX] & 0xFFFF);
    bool take;
    if (in.op == 0xE3) {
        take = cnt == 0;
    } else {
        --cnt;
        if (in.a32)
            c.regs_[ECX] = cnt;
        else
            c.setReg<u16>(ECX, u16(cnt));
        if (!in.a32) cnt &= 0xFFFF;
        take = cnt != 0;
        if (in.op == 0xE1) take = take && c.getZF();
        if (in.op == 0xE0) take = take && !c.getZF();
    }
    if (take) jumpTo(c, in, c.eip_ + u32(std::int32_t(std::int8_t(in.imm))));
}

template <class T>
void pushReg(Cpu& c, const Insn& in) {
    c.push<T>(c.getReg<T>(in.op & 7));
}
template <class T>
void popReg(Cpu& c, const Insn& in) {
    const T v = c.pop<T>();
    c.setReg<T>(in.op & 7, v);
}
template <class T>
void pushImm(Cpu& c, const Insn& in) {
    c.push<T>(in.op == 0x6A ? T(std::int8_t(in.imm)) : T(in.imm));
}
template <class T>
void popRM(Cpu& c, const Insn& in) {
    // POP r/m computes the address with the incremented ESP (SDM POP).
    const u32 oldEsp = c.regs_[ESP];
    const T v = c.pop<T>();
    try {
        writeRM<T>(c, in, v);
    } catch (const Fault&) {
        c.regs_[ESP] = oldEsp;
        throw;
    }
}
// Segment register push: 32-bit pushes write only the low 16 bits on P6.
template <class T>
void pushSeg(Cpu& c, const Insn& in) {
    unsigned s;
    switch (in.op) {
    case 0x06: s = ES; break;
    case 0x0E: s = CS; break;
    case 0x16: s = SS; break;
    case 0x1E: s = DS; break;
    case 0xA0: s = FS; break;
    default: s = GS; break;
    }
    const u16 sel = c.seg_[s].selector;
    if constexpr (sizeof(T) == 4) {
        u32 sp = c.regs_[ESP] - 4;
        if (!c.stack32()) sp &= 0xFFFF;
        c.write<u16>(SS, sp, sel);
        c.setSP(sp);
    } else {
        c.push<u16>(sel);
    }
}
template <class T>
void popSeg(Cpu& c, const Insn& in) {
    unsigned s;
    switch (in.op) {
    case 0x07: s = ES; break;
    case 0x17: s = SS; break;
    case 0x1F: s = DS; break;
    case 0xA1: s = FS; break;
    default: s = GS; break;
    }
    const u32 sp = c.stack32() ? c.regs_[ESP] : (c.regs_[ESP] & 0xFFFF);
    const u16 sel = c.read<u16>(SS, sp);
    // The increment uses the stack size of the SS the value was read through: for POP
    // SS that is the old one (SDM Vol. 2B POP: "IF StackAddrSize = 32 THEN ESP <- ESP +
    // 4/2 ELSE SP <- SP + 4/2"), so a 16-bit stack wraps SP and keeps ESP[31:16] even
    // when the new SS is a 32-bit one, and a 32-bit stack carries into ESP[31:16] even
    // when the new SS is a 16-bit one. ESP is committed after the load (which may fault).
    const u32 esp = c.stack32() ? c.regs_[ESP] + u32(sizeof(T))
                                : (c.regs_[ESP] & 0xFFFF0000u) | ((sp + sizeof(T)) & 0xFFFF);
    c.loadSegment(s, sel);
    c.regs_[ESP] = esp;
    if (s == SS) c.inhibitAt_ = c.retired_ + 1;  // MOV/POP SS shadow
}
template <class T>
void pusha(Cpu& c, const Insn&) {
    const u32 esp = c.regs_[ESP];
    u32 sp = esp;
    for (unsigned r = 0; r < 8; ++r) {
        sp -= sizeof(T);
        if (!c.stack32()) sp &= 0xFFFF;
        c.write<T>(SS, sp, r == ESP ? T(esp) : c.getReg<T>(r));
    }
    c.setSP(sp);
}
template <class T>
void popa(Cpu& c, const Insn&) {
    u32 sp = c.stack32() ? c.regs_[ESP] : (c.regs_[ESP] & 0xFFFF);
    T v[8];
    for (unsigned r = 8; r-- > 0;) {
        v[r] = c.read<T>(SS, sp);
        sp += sizeof(T);
        if (!c.stack32()) sp &= 0xFFFF;
    }
    for (unsigned r = 0; r < 8; ++r)
        if (r != ESP) c.setReg<T>(r, v[r]);
    c.setSP(sp);
}
template <class T>
void pushf(Cpu& c, const Insn&) {
    c.vm86IoplCheck();  // IOPL-sensitive in vm86 (SDM Vol. 3 20.2.7)
    // VM and RF are not pushed (SDM PUSHF).
    c.push<T>(T(c.eflags() & ~(fl::VM | fl::RF)));
}
template <class T>
void popf(Cpu& c, const Insn&) {
    c.vm86IoplCheck();  // IOPL-sensitive in vm86; never changes VM or IOPL there (CPL 3)
    const T v = c.pop<T>();
    c.setEflagsChecked(v, sizeof(T) == 4 ? 0xFFFFFFFFu : 0xFFFFu);
}
template <class T>
void enter(Cpu& c, const Insn& in) {
    const u16 size = u16(in.imm);
    const unsigned level = in.imm2 & 31;
    const bool s32 = c.stack32();
    const u32 mask = s32 ? 0xFFFFFFFFu : 0xFFFFu;
    u32 sp = c.regs_[ESP];
    auto pushRaw = [&](T v) {
        sp = (sp - sizeof(T)) & mask;
        c.write<T>(SS, sp, v);
    };
    pushRaw(c.getReg<T>(EBP));
    // FrameTemp is the stack pointer after that push: on a 16-bit stack SP, with
    // ESP[31:16] unchanged (a 32-bit frame pointer pushed below carries them).
    const u32 frame = s32 ? sp : (c.regs_[ESP] & 0xFFFF0000u) | sp;
    if (level > 0) {
        u32 bp = c.regs_[EBP];
        for (unsigned i = 1; i < level; ++i) {
            bp = (bp - sizeof(T)) & mask;
            pushRaw(c.read<T>(SS, bp));
        }
        pushRaw(T(frame));
    }
    sp = (sp - size) & mask;
    // Touch the new stack top so a fault happens before anything is committed.
    (void)c.read<u8>(SS, sp);
    // BP or EBP by the operand size (SDM Vol. 2A ENTER: "the OperandSize attribute
    // determines ... the data being transferred from SP/ESP/RSP register into the
    // BP/EBP/RBP register"; the 80386 manual: "IF OperandSize = 16 THEN BP := frame-ptr
    // ELSE EBP := frame-ptr"): on a 16-bit stack `o32 enter` sets all of EBP to
    // ESP[31:16]:SP, as QEMU's TCG and Bochs do (docs/x86-diff.md, finding 6; older SDMs
    // tied it to the stack size, and the Operation section still ends with StackSize =
    // 16 -> "BP <- FrameTemp[15:0]").
    if constexpr (sizeof(T) == 4)
        c.regs_[EBP] = frame;
    else
        c.setReg<u16>(EBP, u16(frame));
    c.setSP(sp);
}
template <class T>
void leave(Cpu& c, const Insn&) {
    const u32 bp = c.stack32() ? c.regs_[EBP] : (c.regs_[EBP] & 0xFFFF);
    const T v = c.read<T>(SS, bp);
    c.setSP(bp + sizeof(T));
    c.setReg<T>(EBP, v);
}
template <class T>
void bound(Cpu& c, const Insn& in) {
    if (in.mod == 3) c.invalidOpcode();
    const u32 off = ea(c, in);
    const S<T> lo = S<T>(c.read<T>(in.seg, off));
    const S<T> hi = S<T>(c.read<T>(in.seg, in.a32 ? off + sizeof(T) : (off + sizeof(T)) & 0xFFFF));
    const S<T> v = S<T>(c.getReg<T>(in.reg));
    if (v < lo || v > hi) Cpu::raise(vec::BR);
}

void int3(Cpu& c, const Insn&) { c.softwareInterrupt(vec::BP, true); }
void intN(Cpu& c, const Insn& in) { c.softwareInterrupt(u8(in.imm), false); }
void into(Cpu& c, const Insn&) {
    if (c.arithFlags() & fl::OF) c.softwareInterrupt(vec::OF, true);
}
void int1(Cpu& c, const Insn&) { c.softwareInterrupt(vec::DB, true); }
template <class T>
void iretOp(Cpu& c, const Insn& in) {
    c.iret(in.o32);
}
template <class T>
void farCallImm(Cpu& c, const Insn& in) {
    c.farCall(u16(in.imm2), in.imm, in.o32);
}
template <class T>
void farJmpImm(Cpu& c, const Insn& in) {
    c.farJump(u16(in.imm2), in.imm, in.o32);
}

// FF group: INC DEC CALL CALLF JMP JMPF PUSH
template <class T>
void group5(Cpu& c, const Insn& in) {
    switch (in.reg) {
    case 0:
        rmw<T>(c, in, [&](T a) {
            T r = T(a + 1);
            c.setLazy<T>(Cpu::FlagOp::Inc, a, 1, r);
            return r;
        });
        return;
    case 1:
        rmw<T>(c, in, [&](T a) {
            T r = T(a - 1);
            c.setLazy<T>(Cpu::FlagOp::Dec, a, 1, r);
            return r;
        });
        return;
    case 2: {
        const T target = readRM<T>(c, in);
        if (target > c.seg_[CS].hi) Cpu::raise(vec::GP, 0);
        c.push<T>(T(c.eip_));
        c.eip_ = target;
        return;
    }
    case 4: jumpTo(c, in, readRM<T>(c, in)); return;
    case 3:
    case 5: {
        if (in.mod == 3) c.invalidOpcode();
        const u32 off = ea(c, in);
        const T target = c.read<T>(in.seg, off);
        const u16 sel = c.read<u16>(in.seg, in.a32 ? off + sizeof(T) : (off + sizeof(T)) & 0xFFFF);
        if (in.reg == 3)
            c.farCall(sel, target, in.o32);
        else
            c.farJump(sel, target, in.o32);
        return;
    }
    case 6: c.push<T>(readRM<T>(c, in)); return;
    default: c.invalidOpcode();
    }
}

void movEwSw(Cpu& c, const Insn& in) {
    if (in.reg >= kSegCount) c.invalidOpcode();
    const u16 sel = c.seg_[in.reg].selector;
    if (in.mod == 3 && in.o32)
        c.regs_[in.rm] = sel;  // zero-extended into a 32-bit register on P6
    else
        writeRM<u16>(c, in, sel);
}
void movSwEw(Cpu& c, const Insn& in) {
    if (in.reg >= kSegCount || in.reg == CS) c.invalidOpcode();
    c.loadSegment(in.reg, readRM<u16>(c, in));
    if (in.reg == SS) c.inhibitAt_ = c.retired_ + 1;
}
template <class T>
void loadFarPtr(Cpu& c, const Insn& in) {
    if (in.mod == 3) c.invalidOpcode();
    unsigned s;
    switch (in.op) {
    case 0xC4: s = ES; break;
    case 0xC5: s = DS; break;
    case 0xB2: s = SS; break;
    case 0xB4: s = FS; break;
    default: s = GS; break;
    }
    const u32 off = ea(c, in);
    const T v = c.read<T>(in.seg, off);
    const u16 sel = c.read<u16>(in.seg, in.a32 ? off + sizeof(T) : (off + sizeof(T)) & 0xFFFF);
    c.loadSegment(s, sel);
    c.setReg<T>(in.reg, v);
}

}  // namespace

#define CXVM_V(fn) &fn<u16>, &fn<u32>

void registerFlow(OpTable& t) {
    using namespace opf;
    [&]<unsigned... CC>(std::integer_sequence<unsigned, CC...>) {
        ((t.set1(0x70 + CC, &jcc<u16, CC>, &jcc<u32, CC>, Ib),
          t.set2(0x80 + CC, &jcc<u16, CC>, &jcc<u32, CC>, Iz)), ...);
    }(std::make_integer_sequence<unsigned, 16>{});
    for (unsigned r = 0; r < 8; ++r) {
        t.set1(0x50 + r, CXVM_V(pushReg), 0);
        t.set1(0x58 + r, CXVM_V(popReg), 0);
    }
    for (unsigned op : {0x06u, 0x0Eu, 0x16u, 0x1Eu}) t.set1(op, CXVM_V(pushSeg), 0);
    for (unsigned op : {0x07u, 0x17u, 0x1Fu}) t.set1(op, CXVM_V(popSeg), 0);
    t.set2(0xA0, CXVM_V(pushSeg), 0);
    t.set2(0xA8, CXVM_V(pushSeg), 0);
    t.set2(0xA1, CXVM_V(popSeg), 0);
    t.set2(0xA9, CXVM_V(popSeg), 0);
    t.set1(0x60, CXVM_V(pusha), 0);
    t.set1(0x61, CXVM_V(popa), 0);
    t.set1(0x62, CXVM_V(bound), ModRM);
    t.set1(0x68, CXVM_V(pushImm), Iz);
    t.set1(0x6A, CXVM_V(pushImm), Ib);
    t.set1(0x8C, movEwSw, movEwSw, ModRM);
    t.set1(0x8E, movSwEw, movSwEw, ModRM);
    t.set1(0x8F, CXVM_V(popRM), ModRM);
    t.set1(0x9A, CXVM_V(farCallImm), Ap);
    t.set1(0x9C, CXVM_V(pushf), 0);
    t.set1(0x9D, CXVM_V(popf), 0);
    t.set1(0xC2, CXVM_V(retNear), Iw);
    t.set1(0xC3, CXVM_V(retNear), 0);
    t.set1(0xC4, CXVM_V(loadFarPtr), ModRM);
    t.set1(0xC5, CXVM_V(loadFarPtr), ModRM);
    t.set2(0xB2, CXVM_V(loadFarPtr), ModRM);
    t.set2(0xB4, CXVM_V(loadFarPtr), ModRM);
    t.set2(0xB5, CXVM_V(loadFarPtr), ModRM);
    t.set1(0xC8, CXVM_V(enter), IwIb);
    t.set1(0xC9, CXVM_V(leave), 0);
    t.set1(0xCA, CXVM_V(retFar), Iw);
    t.set1(0xCB, CXVM_V(retFar), 0);
    t.set1(0xCC, int3, int3, 0);
    t.set1(0xCD, intN, intN, Ib);
    t.set1(0xCE, into, into, 0);
    t.set1(0xCF, CXVM_V(iretOp), 0);
    t.set1(0xE0, CXVM_V(loopOp), Ib);
    t.set1(0xE1, CXVM_V(loopOp), Ib);
    t.set1(0xE2, CXVM_V(loopOp), Ib);
    t.set1(0xE3, CXVM_V(loopOp), Ib);
    t.set1(0xE8, CXVM_V(callRel), Iz);
    t.set1(0xE9, CXVM_V(jmpRel), Iz);
    t.set1(0xEA, CXVM_V(farJmpImm), Ap);
    t.set1(0xEB, CXVM_V(jmpRel), Ib);
    t.set1(0xF1, int1, int1, 0);
    t.set1(0xFF, CXVM_V(group5), ModRM);
}

#undef CXVM_V

}  // namespace cxvm::x86
