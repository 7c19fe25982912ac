// System instructions: descriptor-table and control-register access, port I/O,
// CLI/STI/HLT, CPUID/RDTSC/MSRs, SYSENTER/SYSEXIT, hypercalls, x87 escapes (SDM Vol. 2/3).
#include "x86/Exec.h"

namespace cxvm::x86 {

namespace {

using u8 = std::uint8_t;
using u16 = std::uint16_t;
using u32 = std::uint32_t;

void requireCpl0(Cpu& c) {
    if (c.protectedMode() && c.cpl_ != 0) Cpu::raise(vec::GP, 0);
}
// SLDT/STR/LLDT/LTR/VERR/VERW, LAR/LSL and ARPL are "not recognized" in real-address
// and virtual-8086 mode: #UD (SDM Vol. 2, each instruction's vm86 exceptions).
void requireProtected(Cpu& c) {
    if (!c.protectedMode() || c.vm86()) c.invalidOpcode();
}

// 0F 00: SLDT STR LLDT LTR VERR VERW
void group6(Cpu& c, const Insn& in) {
    requireProtected(c);
    switch (in.reg) {
    case 0:
    case 1: {
        const u16 sel = in.reg == 0 ? c.ldtr_.selector : c.tr_.selector;
        if (in.mod == 3 && in.o32)
            c.regs_[in.rm] = sel;
        else
            writeRM<u16>(c, in, sel);
        return;
    }
    case 2:
        requireCpl0(c);
        c.lldt(readRM<u16>(c, in));
        return;
    case 3:
        requireCpl0(c);
        c.ltr(readRM<u16>(c, in));
        return;
    case 4:
    case 5: c.setFlags(fl::ZF, c.verify(readRM<u16>(c, in), in.reg == 5) ? fl::ZF : 0); return;
    default: c.invalidOpcode();
    }
}

// 0F 01: SGDT SIDT LGDT LIDT SMSW - LMSW INVLPG, and VMCALL (C1) / VMMCALL (D9)
void group7(Cpu& c, const Insn& in) {
    if (in.mod == 3) {
        const u8 modrm = u8(0xC0 | (in.reg << 3) | in.rm);
        if (modrm == 0xC1 || modrm == 0xD9) {
            c.hypercall();
            return;
        }
        if (in.reg == 4) {  // SMSW r
            if (in.o32)
                c.regs_[in.rm] = c.cr0_;
            else
                c.setReg<u16>(in.rm, u16(c.cr0_));
            return;
        }
        if (in.reg == 6) {  // LMSW r
            requireCpl0(c);
            const u16 v = c.getReg<u16>(in.rm);
            // LMSW can set PE but never clear it; only the low 4 bits (SDM LMSW).
            c.writeCr(0, (c.cr0_ & ~0xEu) | (v & 0xF) | (c.cr0_ & cr0::PE));
            return;
        }
        c.invalidOpcode();
    }
    const u32 off = ea(c, in);
    const auto next = [&](u32 d) { return in.a32 ? off + d : (off + d) & 0xFFFF; };
    switch (in.reg) {
    case 0:
    case 1: {
        const TableReg t = in.reg == 0 ? c.gdtr_ : c.idtr_;
        c.write<u16>(in.seg, off, u16(t.limit));
        // 16-bit operand size stores 24 bits of base; P6 writes the high byte as 0.
        c.write<u32>(in.seg, next(2), in.o32 ? t.base : (t.base & 0xFFFFFF));
        return;
    }
    case 2:
    case 3: {
        requireCpl0(c);
        const u16 limit = c.read<u16>(in.seg, off);
        u32 base = c.read<u32>(in.seg, next(2));
        if (!in.o32) base &= 0xFFFFFF;
        (in.reg == 2 ? c.gdtr_ : c.idtr_) = TableReg{base, limit};
        return;
    }
    case 4: writeRM<u16>(c, in, u16(c.cr0_)); return;
    case 6: {
        requireCpl0(c);
        const u16 v = c.read<u16>(in.seg, off);
        c.writeCr(0, (c.cr0_ & ~0xEu) | (v & 0xF) | (c.cr0_ & cr0::PE));
        return;
    }
    case 7:
        requireCpl0(c);
        c.tlbFlushPage(c.seg_[in.seg].base + off);
        return;
    default: c.invalidOpcode();
    }
}

template <class T>
void larLsl(Cpu& c, const Insn& in) {
    requireProtected(c);
    u32 out;
    if (c.accessCheckLarLsl(readRM<u16>(c, in), in.op == 0x03, out)) {
        c.setReg<T>(in.reg, T(out));
        c.setFlags(fl::ZF, fl::ZF);
    } else {
        c.setFlags(fl::ZF, 0);
    }
}

void arpl(Cpu& c, const Insn& in) {
    requireProtected(c);
    const u16 src = c.getReg<u16>(in.reg);
    bool changed = false;
    rmw<u16>(c, in, [&](u16 d) {
        if ((d & 3) < (src & 3)) {
            changed = true;
            return u16((d & ~3u) | (src & 3));
        }
        return d;
    });
    c.setFlags(fl::ZF, changed ? fl::ZF : 0);
}

void clts(Cpu& c, const Insn&) {
    requireCpl0(c);
    c.cr0_ &= ~cr0::TS;
}
void invd(Cpu& c, const Insn&) { requireCpl0(c); }
void ud2(Cpu& c, const Insn&) { c.invalidOpcode(); }

void movFromCr(Cpu& c, const Insn& in) {
    requireCpl0(c);
    if (in.reg == 1 || in.reg > 4) c.invalidOpcode();
    c.regs_[in.rm] = c.cr(in.reg);
}
void movToCr(Cpu& c, const Insn& in) {
    requireCpl0(c);
    if (in.reg == 1 || in.reg > 4) c.invalidOpcode();
    c.writeCr(in.reg, c.regs_[in.rm]);
}
void movFromDr(Cpu& c, const Insn& in) {
    requireCpl0(c);
    unsigned r = in.reg;
    if (r == 4 || r == 5) {
        if (c.cr4_ & cr4::DE) c.invalidOpcode();
        r += 2;
    }
    c.regs_[in.rm] = c.dr_[r];
}
void movToDr(Cpu& c, const Insn& in) {
    requireCpl0(c);
    unsigned r = in.reg;
    if (r == 4 || r == 5) {
        if (c.cr4_ & cr4::DE) c.invalidOpcode();
        r += 2;
    }
    u32 v = c.regs_[in.rm];
    if (r == 6) v = (v & 0xE00F) | 0xFFFF0FF0u;
    if (r == 7) v = (v & 0xFFFF2BFFu) | 0x400;
    c.dr_[r] = v;  // breakpoints are recorded but not armed (not advertised as DE)
}

void wrmsr(Cpu& c, const Insn&) {
    requireCpl0(c);
    c.wrmsr();
}
void rdmsr(Cpu& c, const Insn&) {
    requireCpl0(c);
    c.rdmsr();
}
void rdtsc(Cpu& c, const Insn&) {
    if ((c.cr4_ & cr4::TSD) && c.cpl_ != 0 && c.protectedMode()) Cpu::raise(vec::GP, 0);
    const std::uint64_t t = c.tsc();
    c.regs_[EAX] = u32(t);
    c.regs_[EDX] = u32(t >> 32);
}
void rdpmc(Cpu&, const Insn&) { Cpu::raise(vec::GP, 0); }  // no counters
void sysenter(Cpu& c, const Insn&) { c.sysenter(); }
void sysexit(Cpu& c, const Insn&) { c.sysexit(); }
void cpuid(Cpu& c, const Insn&) { c.cpuid(); }

template <class T, bool Dx>
void inOp(Cpu& c, const Insn& in) {
    const u16 port = Dx ? c.getReg<u16>(EDX) : u16(in.imm);
    c.ioCheck(port, sizeof(T));
    c.setReg<T>(EAX, T(c.ioIn(port, sizeof(T))));
}
template <class T, bool Dx>
void outOp(Cpu& c, const Insn& in) {
    const u16 port = Dx ? c.getReg<u16>(EDX) : u16(in.imm);
    c.ioCheck(port, sizeof(T));
    c.ioOut(port, sizeof(T), c.getReg<T>(EAX));
}

void hlt(Cpu& c, const Insn&) {
    requireCpl0(c);
    c.halt();
}
void cli(Cpu& c, const Insn&) {
    if (c.protectedMode() && c.cpl_ > ((c.eflags_ >> 12) & 3)) Cpu::raise(vec::GP, 0);
    c.eflags_ &= ~fl::IF;
}
void sti(Cpu& c, const Insn&) {
    if (c.protectedMode() && c.cpl_ > ((c.eflags_ >> 12) & 3)) Cpu::raise(vec::GP, 0);
    if (!(c.eflags_ & fl::IF)) c.inhibitAt_ = c.retired_ + 1;  // STI shadow
    c.eflags_ |= fl::IF;
}
void fpuEsc(Cpu& c, const Insn& in) { c.fpuEscape(in); }
void fwait(Cpu& c, const Insn&) { c.fpuWait(); }

}  // namespace

void registerSystem(OpTable& t) {
    using namespace opf;
    t.set2(0x00, group6, group6, ModRM);
    t.set2(0x01, group7, group7, ModRM);
    t.set2(0x02, &larLsl<u16>, &larLsl<u32>, ModRM);
    t.set2(0x03, &larLsl<u16>, &larLsl<u32>, ModRM);
    t.set2(0x06, clts, clts, 0);
    t.set2(0x08, invd, invd, 0);
    t.set2(0x09, invd, invd, 0);
    t.set2(0x0B, ud2, ud2, 0);
    t.set2(0xB9, ud2, ud2, ModRM);
    t.set2(0x20, movFromCr, movFromCr, ModRM);
    t.set2(0x21, movFromDr, movFromDr, ModRM);
    t.set2(0x22, movToCr, movToCr, ModRM);
    t.set2(0x23, movToDr, movToDr, ModRM);
    t.set2(0x30, wrmsr, wrmsr, 0);
    t.set2(0x31, rdtsc, rdtsc, 0);
    t.set2(0x32, rdmsr, rdmsr, 0);
    t.set2(0x33, rdpmc, rdpmc, 0);
    t.set2(0x34, sysenter, sysenter, 0);
    t.set2(0x35, sysexit, sysexit, 0);
    t.set2(0xA2, cpuid, cpuid, 0);
    t.set1(0x63, arpl, arpl, ModRM);
    t.set1(0x9B, fwait, fwait, 0);
    for (unsigned op = 0xD8; op <= 0xDF; ++op) t.set1(op, fpuEsc, fpuEsc, ModRM);
    t.set1(0xE4, &inOp<u8, false>, &inOp<u8, false>, Ib);
    t.set1(0xE5, &inOp<u16, false>, &inOp<u32, false>, Ib);
    t.set1(0xE6, &outOp<u8, false>, &outOp<u8, false>, Ib);
    t.set1(0xE7, &outOp<u16, false>, &outOp<u32, false>, Ib);
    t.set1(0xEC, &inOp<u8, true>, &inOp<u8, true>, 0);
    t.set1(0xED, &inOp<u16, true>, &inOp<u32, true>, 0);
    t.set1(0xEE, &outOp<u8, true>, &outOp<u8, true>, 0);
    t.set1(0xEF, &outOp<u16, true>, &outOp<u32, true>, 0);
    t.set1(0xF4, hlt, hlt, 0);
    t.set1(0xFA, cli, cli, 0);
    t.set1(0xFB, sti, sti, 0);
}

}  // namespace cxvm::x86
