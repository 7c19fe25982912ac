// Virtual-8086 mode (EFLAGS.VM; SDM Vol. 3 ch. 20 "8086 Emulation"): entry by IRET from
// CPL 0, IRET inside vm86, and the vm86 segment model. The rest of vm86 lives where the
// instruction does: interrupt/exception exit to CPL 0 in Cpu::deliver (CpuSystem.cpp),
// task switches into a vm86 task in Cpu::taskSwitch, the IOPL-sensitive PUSHF/POPF/INT n
// (vm86IoplCheck, Cpu.h) and CLI/STI (CPL 3 > IOPL), I/O through the TSS permission
// bitmap whatever the IOPL (Cpu::ioCheck), #UD for the protected-mode-only instructions
// (ExecSystem.cpp requireProtected), real-mode segment loads and far transfers
// (loadSegment, farJump/farCall/farReturn). VME (CR4.VME, virtual interrupt flags) is not
// implemented and not advertised: CPUID.1:EDX.VME is clear and CR4.VME is reserved.
#include "x86/Cpu.h"

namespace cxvm::x86 {

namespace {
using u16 = std::uint16_t;
using u32 = std::uint32_t;

// Bits EFLAGS can hold on this CPU (the rest are reserved: 0, bit 1 reads as 1).
constexpr u32 kEflagsDefined = 0x003F7FD5u;
}  // namespace

SegCache Cpu::vm86Segment(u16 sel) {
    SegCache c;
    c.selector = sel;
    c.base = u32{sel} << 4;
    c.limit = 0xFFFF;
    c.type = 0x3;  // read/write data, accessed: code, data and stack alike
    c.s = 1;
    c.dpl = 3;
    c.present = 1;
    c.db = 0;
    c.g = 0;
    c.valid = true;
    c.derive();
    return c;
}

// SDM Vol. 2 IRET, RETURN-TO-VIRTUAL-8086-MODE (PE = 1, CPL = 0, VM = 1 in the popped
// EFLAGS image; the operand size is 32, or VM could not be in the image): after EIP, CS
// and EFLAGS come ESP, SS, ES, DS, FS, GS, 32 bits each (selectors in the low word). All
// of them are read before anything is committed, so a fault leaves the CPL-0 state.
void Cpu::enterVm86(u32 eip, u16 cs, u32 flags, u32 sp) {
    u32 v[6];  // ESP SS ES DS FS GS
    for (u32& x : v) {
        x = read<u32>(SS, stack32() ? sp : (sp & 0xFFFF));
        sp += 4;
    }
    // At CPL 0 IRET loads all of EFLAGS (IOPL, IF, VM, RF, VIF, VIP too).
    loadFlags(flags & kEflagsDefined);
    seg_[CS] = vm86Segment(cs);
    seg_[SS] = vm86Segment(u16(v[1]));
    seg_[ES] = vm86Segment(u16(v[2]));
    seg_[DS] = vm86Segment(u16(v[3]));
    seg_[FS] = vm86Segment(u16(v[4]));
    seg_[GS] = vm86Segment(u16(v[5]));
    regs_[ESP] = v[0];
    // CS:EIP <- tempCS:tempEIP, unchecked: an EIP beyond 0xFFFF faults on the first fetch
    // in vm86 (#GP(0) through the vm86 exit, as on hardware).
    eip_ = eip;
    setCpl(3);  // also drops the fetch window and ends the translated block
}

// SDM Vol. 2 IRET, RETURN-FROM-VIRTUAL-8086-MODE: with IOPL = 3 a real-mode style return
// that cannot change VM, IOPL, VIF or VIP; with IOPL < 3 #GP(0) to the monitor.
void Cpu::iretVm86(bool o32) {
    vm86IoplCheck();
    const unsigned size = o32 ? 4 : 2;
    u32 sp = regs_[ESP];
    auto pop = [&]() -> u32 {
        const u32 off = stack32() ? sp : (sp & 0xFFFF);
        const u32 x = size == 4 ? read<u32>(SS, off) : read<u16>(SS, off);
        sp += size;
        return x;
    };
    const u32 eip = pop();
    const u16 cs = u16(pop());
    const u32 flags = pop();
    if (eip > seg_[CS].hi) raise(vec::GP, 0);
    setSP(sp);
    loadCsReal(cs, eip);
    // CPL 3 = IOPL: IF may change, IOPL and VM may not (setEflagsChecked), nor VIF/VIP.
    setEflagsChecked(flags, o32 ? 0xFFFFFFFFu : 0xFFFFu);
}

}  // namespace cxvm::x86
