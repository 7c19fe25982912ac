// Protection and system behaviour: segment loads with descriptor checks (SDM Vol. 3
// 5.5-5.8), far transfers through call gates, RET/IRET to outer rings, interrupt and
// exception delivery (6.12), hardware task switching (7.3), control registers, MSRs,
// CPUID, SYSENTER/SYSEXIT, port-I/O permission (Vol. 1 19.5), HLT and hypercalls.
#include "x86/Cpu.h"

#include "../../guest/include/cxvm/hypercall_abi.h"
#include "x86/SseHost.h"
#include "x86/X87Unit.h"
#include "util/Log.h"

namespace cxvm::x86 {

namespace {
using u8 = std::uint8_t;
using u16 = std::uint16_t;
using u32 = std::uint32_t;
using u64 = std::uint64_t;

// Writes a frame downwards onto a stack described by a (possibly not yet loaded)
// SS cache; faults with #SS(errorCode) on a limit violation.
struct StackFrame {
    Cpu& c;
    const SegCache& ss;
    u32 sp;
    unsigned acc;
    u32 errorCode;
    void push(u32 v, unsigned size) {
        sp -= size;
        if (!ss.db) sp &= 0xFFFF;
        if (sp < ss.lo || u64{sp} + size - 1 > ss.hi) Cpu::raise(vec::SS, errorCode);
        if (size == 4)
            c.writeLin<u32>(ss.base + sp, v, acc);
        else
            c.writeLin<u16>(ss.base + sp, u16(v), acc);
    }
};

// Reads values upwards from the current stack without committing ESP.
struct StackReader {
    Cpu& c;
    u32 sp;
    u32 pop(unsigned size) {
        const u32 off = c.stack32() ? sp : (sp & 0xFFFF);
        u32 v = size == 4 ? c.read<u32>(SS, off) : c.read<u16>(SS, off);
        sp += size;
        return v;
    }
};

SegCache flatSegment(u16 sel, bool code, unsigned dpl) {
    SegCache s;
    s.selector = sel;
    s.base = 0;
    s.limit = 0xFFFFFFFFu;
    s.g = 1;
    s.db = 1;
    s.s = 1;
    s.present = 1;
    s.dpl = u8(dpl);
    s.type = code ? 0xB : 0x3;
    s.valid = true;
    s.derive();
    return s;
}
}  // namespace

// ---------------------------------------------------------------- descriptors

std::uint32_t Cpu::descriptorAddress(u16 sel) {
    const u32 index = sel & ~7u;
    if (sel & 4) {
        if (!ldtr_.valid || index + 7 > ldtr_.limit) raise(vec::GP, sel & 0xFFFC);
        return ldtr_.base + index;
    }
    if (index + 7 > gdtr_.limit) raise(vec::GP, sel & 0xFFFC);
    return gdtr_.base + index;
}

Cpu::Descriptor Cpu::fetchDescriptor(u16 sel, u8 vector) {
    u32 addr;
    try {
        addr = descriptorAddress(sel);
    } catch (const Fault& f) {
        if (f.vector == vec::GP && vector != vec::GP) raise(vector, sel & 0xFFFC);
        throw;
    }
    Descriptor d;
    d.lo = readSys<u32>(addr);
    d.hi = readSys<u32>(addr + 4);
    return d;
}

void Cpu::setAccessed(u16 sel, Descriptor& d) {
    if (d.s() && !(d.hi & 0x100)) {
        d.hi |= 0x100;
        writeSys<u32>(descriptorAddress(sel) + 4, d.hi);
    }
}

SegCache Cpu::cacheFrom(u16 sel, const Descriptor& d) {
    SegCache s;
    s.selector = sel;
    s.base = d.base();
    s.limit = d.limit();
    s.type = u8(d.type());
    s.s = d.s();
    s.dpl = u8(d.dpl());
    s.present = d.present();
    s.db = d.db();
    s.g = (d.hi >> 23) & 1;
    s.avl = (d.hi >> 20) & 1;
    s.valid = true;
    s.derive();
    return s;
}

void Cpu::loadSegment(unsigned s, u16 sel) {
    if (!protectedMode() || (eflags_ & fl::VM)) {
        SegCache& c = seg_[s];
        c.selector = sel;
        c.base = u32{sel} << 4;
        c.valid = true;
        c.derive();
        return;
    }
    const u16 err = sel & 0xFFFC;
    if (s == SS) {
        if (err == 0) raise(vec::GP, 0);
        Descriptor d = fetchDescriptor(sel);
        if ((sel & 3) != cpl_ || !d.s() || d.isCode() || !(d.type() & 2) || d.dpl() != cpl_)
            raise(vec::GP, err);
        if (!d.present()) raise(vec::SS, err);
        setAccessed(sel, d);
        seg_[SS] = cacheFrom(sel, d);
        return;
    }
    if (err == 0) {
        SegCache& c = seg_[s];
        c.selector = sel;
        c.valid = false;
        c.derive();
        return;
    }
    Descriptor d = fetchDescriptor(sel);
    if (!d.s() || (d.isCode() && !(d.type() & 2))) raise(vec::GP, err);
    if (!d.conforming() && ((sel & 3) > d.dpl() || cpl_ > d.dpl())) raise(vec::GP, err);
    if (!d.present()) raise(vec::NP, err);
    setAccessed(sel, d);
    seg_[s] = cacheFrom(sel, d);
}

void Cpu::loadCsReal(u16 sel, u32 eip) {
    SegCache& c = seg_[CS];
    c.selector = sel;
    c.base = u32{sel} << 4;
    c.valid = true;
    c.derive();
    eip_ = eip;
    invalidateFetch();
}

// Validates a code-segment target of a far JMP/CALL (SDM Vol. 3 5.8.1).
namespace {
void checkDirectCode(Cpu& c, u16 sel, const Cpu::Descriptor& d) {
    const u16 err = sel & 0xFFFC;
    if (d.conforming()) {
        if (d.dpl() > c.cpl_) Cpu::raise(vec::GP, err);
    } else if ((sel & 3) > c.cpl_ || d.dpl() != c.cpl_) {
        Cpu::raise(vec::GP, err);
    }
    if (!d.present()) Cpu::raise(vec::NP, err);
}
}  // namespace

// JMP/CALL to a TSS or through a task gate (SDM Vol. 3 7.3): privilege and presence
// checks on the selector's descriptor, then on the gate's TSS, then the switch.
void Cpu::taskTransfer(u16 sel, const Descriptor& d, TaskSwitchKind kind) {
    const u16 err = sel & 0xFFFC;
    if (d.dpl() < cpl_ || d.dpl() < (sel & 3)) raise(vec::GP, err);
    if (!d.present()) raise(vec::NP, err);
    if (d.type() != 5) return taskSwitch(sel, d, kind);
    const u16 tss = u16(d.lo >> 16);
    if (tss & 4) raise(vec::GP, tss & 0xFFFC);
    Descriptor td = fetchDescriptor(tss);
    if (td.s() || (td.type() != 1 && td.type() != 9)) raise(vec::GP, tss & 0xFFFC);
    if (!td.present()) raise(vec::NP, tss & 0xFFFC);
    taskSwitch(tss, td, kind);
}

void Cpu::farJump(u16 sel, u32 off, bool o32) {
    if (!o32) off &= 0xFFFF;
    if (!protectedMode() || (eflags_ & fl::VM)) {
        if (off > seg_[CS].hi) raise(vec::GP, 0);
        loadCsReal(sel, off);
        return;
    }
    const u16 err = sel & 0xFFFC;
    if (err == 0) raise(vec::GP, 0);
    Descriptor d = fetchDescriptor(sel);
    if (d.isCode()) {
        checkDirectCode(*this, sel, d);
        if (off > d.limit()) raise(vec::GP, 0);
        setAccessed(sel, d);
        seg_[CS] = cacheFrom(u16((sel & ~3u) | cpl_), d);
        eip_ = off;
        invalidateFetch();
        return;
    }
    if (d.s()) raise(vec::GP, err);
    switch (d.type()) {
    case 1:
    case 9:  // TSS
    case 5:  // task gate
        taskTransfer(sel, d, TaskSwitchKind::Jmp);
        return;
    case 4:
    case 12: {  // call gate: JMP keeps the CPL (no stack switch)
        if (d.dpl() < cpl_ || d.dpl() < (sel & 3)) raise(vec::GP, err);
        if (!d.present()) raise(vec::NP, err);
        const u16 tsel = u16(d.lo >> 16);
        const u32 toff = d.type() == 12 ? ((d.lo & 0xFFFF) | (d.hi & 0xFFFF0000u)) : (d.lo & 0xFFFF);
        if ((tsel & 0xFFFC) == 0) raise(vec::GP, 0);
        Descriptor td = fetchDescriptor(tsel);
        if (!td.isCode() || (td.conforming() ? td.dpl() > cpl_ : td.dpl() != cpl_))
            raise(vec::GP, tsel & 0xFFFC);
        if (!td.present()) raise(vec::NP, tsel & 0xFFFC);
        if (toff > td.limit()) raise(vec::GP, 0);
        setAccessed(tsel, td);
        seg_[CS] = cacheFrom(u16((tsel & ~3u) | cpl_), td);
        eip_ = toff;
        invalidateFetch();
        return;
    }
    default: raise(vec::GP, err);
    }
}

void Cpu::loadStackFromTss(unsigned dpl, u16& ss, u32& esp) {
    const bool tss32 = tr_.type & 8;
    const u32 off = tss32 ? 4 + dpl * 8 : 2 + dpl * 4;
    if (off + (tss32 ? 5 : 3) > tr_.limit) raise(vec::TS, tr_.selector & 0xFFFC);
    if (tss32) {
        esp = readSys<u32>(tr_.base + off);
        ss = readSys<u16>(tr_.base + off + 4);
    } else {
        esp = readSys<u16>(tr_.base + off);
        ss = readSys<u16>(tr_.base + off + 2);
    }
}

namespace {
// Checks a stack selector taken from the TSS for privilege level `dpl` (SDM Vol. 3
// 6.12.1 / CALL): faults are #TS(sel), not-present is #SS(sel).
SegCache checkInnerStack(Cpu& c, u16 ss, unsigned dpl, u32 ext) {
    const u32 err = (ss & 0xFFFC) | ext;
    if ((ss & 0xFFFC) == 0) Cpu::raise(vec::TS, ext);
    Cpu::Descriptor d = c.fetchDescriptor(ss, vec::TS);
    if ((ss & 3) != dpl || d.dpl() != dpl || !d.s() || d.isCode() || !(d.type() & 2))
        Cpu::raise(vec::TS, err);
    if (!d.present()) Cpu::raise(vec::SS, err);
    c.setAccessed(ss, d);
    return Cpu::cacheFrom(ss, d);
}
}  // namespace

void Cpu::farCall(u16 sel, u32 off, bool o32) {
    if (!o32) off &= 0xFFFF;
    const unsigned size = o32 ? 4 : 2;
    if (!protectedMode() || (eflags_ & fl::VM)) {
        if (off > seg_[CS].hi) raise(vec::GP, 0);
        StackFrame f{*this, seg_[SS], regs_[ESP], userAcc_, 0};
        f.push(seg_[CS].selector, size);
        f.push(eip_, size);
        setSP(f.sp);
        loadCsReal(sel, off);
        return;
    }
    const u16 err = sel & 0xFFFC;
    if (err == 0) raise(vec::GP, 0);
    Descriptor d = fetchDescriptor(sel);
    if (d.isCode()) {
        checkDirectCode(*this, sel, d);
        if (off > d.limit()) raise(vec::GP, 0);
        StackFrame f{*this, seg_[SS], regs_[ESP], userAcc_, 0};
        f.push(seg_[CS].selector, size);
        f.push(eip_, size);
        setAccessed(sel, d);
        setSP(f.sp);
        seg_[CS] = cacheFrom(u16((sel & ~3u) | cpl_), d);
        eip_ = off;
        invalidateFetch();
        return;
    }
    if (d.s()) raise(vec::GP, err);
    switch (d.type()) {
    case 1:
    case 9:
    case 5:
        taskTransfer(sel, d, TaskSwitchKind::Call);
        return;
    case 4:
    case 12:
        break;
    default: raise(vec::GP, err);
    }
    // Call gate (SDM Vol. 3 5.8.5).
    if (d.dpl() < cpl_ || d.dpl() < (sel & 3)) raise(vec::GP, err);
    if (!d.present()) raise(vec::NP, err);
    const bool gate32 = d.type() == 12;
    const unsigned gsize = gate32 ? 4 : 2;
    const u16 tsel = u16(d.lo >> 16);
    const u32 toff = gate32 ? ((d.lo & 0xFFFF) | (d.hi & 0xFFFF0000u)) : (d.lo & 0xFFFF);
    if ((tsel & 0xFFFC) == 0) raise(vec::GP, 0);
    Descriptor td = fetchDescriptor(tsel);
    if (!td.isCode() || td.dpl() > cpl_) raise(vec::GP, tsel & 0xFFFC);
    if (!td.present()) raise(vec::NP, tsel & 0xFFFC);
    if (toff > td.limit()) raise(vec::GP, 0);
    if (!td.conforming() && td.dpl() < cpl_) {
        // More privileged: switch to the inner stack from the TSS, copy parameters.
        const unsigned ndpl = td.dpl();
        u16 nss;
        u32 nesp;
        loadStackFromTss(ndpl, nss, nesp);
        SegCache ssc = checkInnerStack(*this, nss, ndpl, 0);
        const unsigned params = d.hi & 0x1F;
        u32 copied[32];
        StackReader rd{*this, regs_[ESP]};
        for (unsigned i = 0; i < params; ++i) copied[i] = rd.pop(gsize);
        StackFrame f{*this, ssc, nesp, ndpl == 3 ? 2u : 0u, nss & 0xFFFCu};
        f.push(seg_[SS].selector, gsize);
        f.push(regs_[ESP], gsize);
        for (unsigned i = params; i-- > 0;) f.push(copied[i], gsize);
        f.push(seg_[CS].selector, gsize);
        f.push(eip_, gsize);
        setAccessed(tsel, td);
        seg_[SS] = ssc;
        regs_[ESP] = ssc.db ? f.sp : ((nesp & 0xFFFF0000u) | (f.sp & 0xFFFF));
        seg_[CS] = cacheFrom(u16((tsel & ~3u) | ndpl), td);
        setCpl(ndpl);
    } else {
        StackFrame f{*this, seg_[SS], regs_[ESP], userAcc_, 0};
        f.push(seg_[CS].selector, gsize);
        f.push(eip_, gsize);
        setAccessed(tsel, td);
        setSP(f.sp);
        seg_[CS] = cacheFrom(u16((tsel & ~3u) | cpl_), td);
    }
    eip_ = toff;
    invalidateFetch();
}

namespace {
// After a return to an outer ring, data segment registers the new CPL may not use are
// nulled (SDM Vol. 3 5.8.6 step 5).
void nullInaccessibleSegments(Cpu& c) {
    for (unsigned s : {ES, DS, FS, GS}) {
        SegCache& sc = c.seg_[s];
        if (!sc.valid) continue;
        const bool dataOrNonConf = !(sc.type & 8) || !(sc.type & 4);
        if (dataOrNonConf && sc.dpl < c.cpl_) {
            sc.selector = 0;
            sc.valid = false;
            sc.derive();
        }
    }
}
}  // namespace

// Checks the CS of a far RET/IRET and, for an outer-ring return, the SS; commits.
namespace {
struct ReturnTarget {
    u16 cs;
    u32 eip;
    Cpu::Descriptor d;
};
void checkReturnCs(Cpu& c, u16 cs, Cpu::Descriptor& d) {
    const u16 err = cs & 0xFFFC;
    if (err == 0) Cpu::raise(vec::GP, 0);
    if ((cs & 3) < c.cpl_) Cpu::raise(vec::GP, err);
    d = c.fetchDescriptor(cs);
    if (!d.isCode()) Cpu::raise(vec::GP, err);
    if (d.conforming() ? d.dpl() > (cs & 3) : d.dpl() != (cs & 3)) Cpu::raise(vec::GP, err);
    if (!d.present()) Cpu::raise(vec::NP, err);
}
SegCache checkReturnSs(Cpu& c, u16 ss, unsigned rpl) {
    const u16 err = ss & 0xFFFC;
    if (err == 0) Cpu::raise(vec::GP, 0);
    Cpu::Descriptor d = c.fetchDescriptor(ss);
    if ((ss & 3) != rpl || !d.s() || d.isCode() || !(d.type() & 2) || d.dpl() != rpl)
        Cpu::raise(vec::GP, err);
    if (!d.present()) Cpu::raise(vec::SS, err);
    c.setAccessed(ss, d);
    return Cpu::cacheFrom(ss, d);
}
}  // namespace

void Cpu::farReturn(bool o32, u16 extraPop) {
    const unsigned size = o32 ? 4 : 2;
    StackReader rd{*this, regs_[ESP]};
    u32 eip = rd.pop(size);
    const u16 cs = u16(rd.pop(size));
    if (!protectedMode() || (eflags_ & fl::VM)) {
        if (eip > seg_[CS].hi) raise(vec::GP, 0);
        setSP(rd.sp + extraPop);
        loadCsReal(cs, eip);
        return;
    }
    Descriptor d;
    checkReturnCs(*this, cs, d);
    if (eip > d.limit()) raise(vec::GP, 0);
    const unsigned rpl = cs & 3;
    if (rpl == cpl_) {
        setAccessed(cs, d);
        setSP(rd.sp + extraPop);
        seg_[CS] = cacheFrom(cs, d);
        eip_ = eip;
        invalidateFetch();
        return;
    }
    rd.sp += extraPop;
    const u32 nesp = rd.pop(size);
    const u16 nss = u16(rd.pop(size));
    SegCache ssc = checkReturnSs(*this, nss, rpl);
    setAccessed(cs, d);
    seg_[CS] = cacheFrom(cs, d);
    seg_[SS] = ssc;
    setCpl(rpl);
    const u32 v = nesp + extraPop;
    regs_[ESP] = ssc.db ? v : ((regs_[ESP] & 0xFFFF0000u) | (v & 0xFFFF));
    eip_ = eip;
    invalidateFetch();
    nullInaccessibleSegments(*this);
}

void Cpu::setEflagsChecked(u32 v, u32 mask) {
    const unsigned iopl = (eflags_ >> 12) & 3;
    u32 changeable = fl::kArith | fl::TF | fl::DF | fl::NT | fl::AC | fl::ID;
    if (!protectedMode() || cpl_ == 0)
        changeable |= fl::IOPL | fl::IF;
    else if (cpl_ <= iopl)
        changeable |= fl::IF;
    changeable &= mask;
    const u32 cur = eflags();
    loadFlags(((cur & ~changeable) | (v & changeable)) & ~fl::RF);
}

void Cpu::iret(bool o32) {
    const unsigned size = o32 ? 4 : 2;
    const u32 mask = o32 ? 0xFFFFFFFFu : 0xFFFFu;
    nmiBlocked_ = false;
    if (!protectedMode()) {
        StackReader rd{*this, regs_[ESP]};
        const u32 eip = rd.pop(size);
        const u16 cs = u16(rd.pop(size));
        const u32 flags = rd.pop(size);
        if (eip > seg_[CS].hi) raise(vec::GP, 0);
        setSP(rd.sp);
        loadCsReal(cs, eip);
        setEflagsChecked(flags, mask);
        return;
    }
    if (eflags_ & fl::VM) return iretVm86(o32);  // checked before NT (SDM IRET)
    if (eflags_ & fl::NT) {
        // Return from a nested task via the back link (SDM Vol. 3 7.3).
        const u16 link = readSys<u16>(tr_.base);
        if (link & 4) raise(vec::TS, link & 0xFFFC);
        Descriptor d = fetchDescriptor(link, vec::TS);
        if (d.s() || (d.type() != 3 && d.type() != 11)) raise(vec::TS, link & 0xFFFC);
        if (!d.present()) raise(vec::NP, link & 0xFFFC);
        taskSwitch(link, d, TaskSwitchKind::Iret);
        return;
    }
    StackReader rd{*this, regs_[ESP]};
    const u32 eip = rd.pop(size);
    const u16 cs = u16(rd.pop(size));
    const u32 flags = rd.pop(size);
    // Before any check of CS: the image's CS is a real-mode selector (SDM IRET).
    if ((flags & fl::VM) && o32 && cpl_ == 0) return enterVm86(eip, cs, flags, rd.sp);
    Descriptor d;
    checkReturnCs(*this, cs, d);
    if (eip > d.limit()) raise(vec::GP, 0);
    const unsigned rpl = cs & 3;
    if (rpl == cpl_) {
        setAccessed(cs, d);
        setSP(rd.sp);
        seg_[CS] = cacheFrom(cs, d);
        eip_ = eip;
        invalidateFetch();
        setEflagsChecked(flags, mask | (o32 ? fl::RF : 0));
        return;
    }
    const u32 nesp = rd.pop(size);
    const u16 nss = u16(rd.pop(size));
    SegCache ssc = checkReturnSs(*this, nss, rpl);
    setAccessed(cs, d);
    setEflagsChecked(flags, mask);  // with the old CPL's rules
    seg_[CS] = cacheFrom(cs, d);
    seg_[SS] = ssc;
    setCpl(rpl);
    regs_[ESP] = ssc.db ? (o32 ? nesp : (nesp & 0xFFFF)) : ((regs_[ESP] & 0xFFFF0000u) | (nesp & 0xFFFF));
    eip_ = eip;
    invalidateFetch();
    nullInaccessibleSegments(*this);
}

// ---------------------------------------------------------------- interrupts

void Cpu::softwareInterrupt(u8 vector, bool isInt3OrInto) {
    // INT n is IOPL-sensitive in vm86; INT3 and INTO are not (SDM Vol. 3 20.2.7, 20.3.1):
    // they go through the IDT, where the gate's DPL must be 3.
    if (!isInt3OrInto) vm86IoplCheck();
    if (exceptionExit_) {
        // Test harness mode: report instead of delivering; EIP stays at the INT.
        throw Fault{vector, false, 0};
    }
    deliver(vector, IntKind::Software, false, 0);
}

void Cpu::deliver(u8 vector, IntKind kind, bool hasCode, u32 code) {
    halted_ = false;
    if (!protectedMode()) {
        // Real mode: IVT entry, push FLAGS, CS, IP (SDM Vol. 3 20.1.4).
        const u32 entry = idtr_.base + vector * 4u;
        if (vector * 4u + 3 > idtr_.limit) raise(vec::GP, 0);
        const u16 ip = readSys<u16>(entry);
        const u16 cs = readSys<u16>(entry + 2);
        StackFrame f{*this, seg_[SS], regs_[ESP], 0, 0};
        f.push(eflags() & 0xFFFF, 2);
        f.push(seg_[CS].selector, 2);
        f.push(eip_ & 0xFFFF, 2);
        setSP(f.sp);
        eflags_ &= ~(fl::IF | fl::TF | fl::AC | fl::RF);
        loadCsReal(cs, ip);
        return;
    }
    const u32 ext = kind == IntKind::Software ? 0 : 1;
    const u32 idtErr = vector * 8u + 2 + ext;
    if (vector * 8u + 7 > idtr_.limit) raise(vec::GP, idtErr);
    Descriptor g;
    g.lo = readSys<u32>(idtr_.base + vector * 8u);
    g.hi = readSys<u32>(idtr_.base + vector * 8u + 4);
    const unsigned type = g.type();
    if (g.s() || !(type == 5 || type == 6 || type == 7 || type == 14 || type == 15))
        raise(vec::GP, idtErr);
    if (kind == IntKind::Software && g.dpl() < cpl_) raise(vec::GP, idtErr);
    if (!g.present()) raise(vec::NP, idtErr);
    if (type == 5) {
        const u16 tss = u16(g.lo >> 16);
        if (tss & 4) raise(vec::TS, (tss & 0xFFFC) | ext);
        Descriptor td = fetchDescriptor(tss, vec::TS);
        if (td.s() || (td.type() != 1 && td.type() != 9)) raise(vec::TS, (tss & 0xFFFC) | ext);
        if (!td.present()) raise(vec::NP, (tss & 0xFFFC) | ext);
        Fault err{vector, hasCode, code};
        taskSwitch(tss, td, TaskSwitchKind::Interrupt, hasCode ? &err : nullptr);
        return;
    }
    const bool gate32 = type & 8;
    const unsigned size = gate32 ? 4 : 2;
    const u16 tsel = u16(g.lo >> 16);
    const u32 toff = gate32 ? ((g.lo & 0xFFFF) | (g.hi & 0xFFFF0000u)) : (g.lo & 0xFFFF);
    if ((tsel & 0xFFFC) == 0) raise(vec::GP, ext);
    Descriptor td = fetchDescriptor(tsel);
    const u32 terr = (tsel & 0xFFFC) | ext;
    if (!td.isCode() || td.dpl() > cpl_) raise(vec::GP, terr);
    if (!td.present()) raise(vec::NP, terr);
    // From vm86 only an inner-level transfer to a non-conforming CPL-0 segment is allowed
    // (SDM Vol. 3 6.12.1.1, 20.3.1.1; INT "INTERRUPT-FROM-VIRTUAL-8086-MODE"): it also
    // pushes GS, FS, DS, ES and enters protected mode with them null.
    const bool fromVm86 = eflags_ & fl::VM;
    if (fromVm86 && (td.conforming() || td.dpl() != 0)) raise(vec::GP, terr);
    if (toff > td.limit()) raise(vec::GP, ext);
    const u32 flags = eflags();
    if (!td.conforming() && td.dpl() < cpl_) {
        const unsigned ndpl = td.dpl();
        u16 nss;
        u32 nesp;
        loadStackFromTss(ndpl, nss, nesp);
        SegCache ssc = checkInnerStack(*this, nss, ndpl, ext);
        StackFrame f{*this, ssc, nesp, ndpl == 3 ? 2u : 0u, (nss & 0xFFFCu) | ext};
        if (fromVm86)
            for (unsigned s : {GS, FS, DS, ES}) f.push(seg_[s].selector, size);
        f.push(seg_[SS].selector, size);
        f.push(regs_[ESP], size);
        f.push(flags, size);
        f.push(seg_[CS].selector, size);
        f.push(eip_, size);
        if (hasCode) f.push(code, size);
        setAccessed(tsel, td);
        if (fromVm86) {
            for (unsigned s : {ES, DS, FS, GS}) {
                seg_[s] = SegCache{};
                seg_[s].valid = false;  // null: unusable in protected mode
                seg_[s].derive();
            }
        }
        seg_[SS] = ssc;
        regs_[ESP] = ssc.db ? f.sp : ((nesp & 0xFFFF0000u) | (f.sp & 0xFFFF));
        seg_[CS] = cacheFrom(u16((tsel & ~3u) | ndpl), td);
        setCpl(ndpl);
    } else {
        StackFrame f{*this, seg_[SS], regs_[ESP], userAcc_, ext};
        f.push(flags, size);
        f.push(seg_[CS].selector, size);
        f.push(eip_, size);
        if (hasCode) f.push(code, size);
        setAccessed(tsel, td);
        setSP(f.sp);
        seg_[CS] = cacheFrom(u16((tsel & ~3u) | cpl_), td);
    }
    eip_ = toff;
    invalidateFetch();
    loadFlags(eflags() & ~(fl::TF | fl::NT | fl::RF | fl::VM));
    if (!(type & 1)) eflags_ &= ~fl::IF;  // interrupt gate (trap gates keep IF)
}

// ---------------------------------------------------------------- tasks

void Cpu::taskSwitch(u16 sel, Descriptor d, TaskSwitchKind kind, const Fault* errorToPush) {
    const u16 err = sel & 0xFFFC;
    const bool new32 = d.type() & 8;
    if (d.limit() < (new32 ? 0x67u : 0x2Bu)) raise(vec::TS, err);
    const u32 nbase = d.base();
    const bool old32 = tr_.type & 8;
    const u32 obase = tr_.base;
    // Read the whole new TSS first so a fault leaves the old task intact.
    u32 nregs[8], neip, nflags, ncr3 = cr3_;
    u16 nseg[6], nldt;
    if (new32) {
        ncr3 = readSys<u32>(nbase + 0x1C);
        neip = readSys<u32>(nbase + 0x20);
        nflags = readSys<u32>(nbase + 0x24);
        for (unsigned i = 0; i < 8; ++i) nregs[i] = readSys<u32>(nbase + 0x28 + 4 * i);
        for (unsigned i = 0; i < 6; ++i) nseg[i] = readSys<u16>(nbase + 0x48 + 4 * i);
        nldt = readSys<u16>(nbase + 0x60);
    } else {
        neip = readSys<u16>(nbase + 0x0E);
        nflags = readSys<u16>(nbase + 0x10);
        for (unsigned i = 0; i < 8; ++i) nregs[i] = readSys<u16>(nbase + 0x12 + 2 * i);
        for (unsigned i = 0; i < 4; ++i) nseg[i] = readSys<u16>(nbase + 0x22 + 2 * i);
        nseg[FS] = nseg[GS] = 0;
        nldt = readSys<u16>(nbase + 0x2A);
    }
    // Save the outgoing task.
    u32 oflags = eflags();
    if (kind == TaskSwitchKind::Iret) oflags &= ~fl::NT;
    if (old32) {
        writeSys<u32>(obase + 0x20, eip_);
        writeSys<u32>(obase + 0x24, oflags);
        for (unsigned i = 0; i < 8; ++i) writeSys<u32>(obase + 0x28 + 4 * i, regs_[i]);
        for (unsigned i = 0; i < 6; ++i) writeSys<u16>(obase + 0x48 + 4 * i, seg_[i].selector);
    } else {
        writeSys<u16>(obase + 0x0E, u16(eip_));
        writeSys<u16>(obase + 0x10, u16(oflags));
        for (unsigned i = 0; i < 8; ++i) writeSys<u16>(obase + 0x12 + 2 * i, u16(regs_[i]));
        for (unsigned i = 0; i < 4; ++i) writeSys<u16>(obase + 0x22 + 2 * i, seg_[i].selector);
    }
    if (kind == TaskSwitchKind::Jmp || kind == TaskSwitchKind::Iret) {
        const u32 a = descriptorAddress(tr_.selector) + 4;
        writeSys<u32>(a, readSys<u32>(a) & ~(2u << 8));
    }
    if (kind == TaskSwitchKind::Call || kind == TaskSwitchKind::Interrupt) {
        writeSys<u16>(nbase, tr_.selector);
        nflags |= fl::NT;
    }
    if (kind != TaskSwitchKind::Iret) {
        const u32 a = descriptorAddress(sel) + 4;
        d.hi |= 2u << 8;
        writeSys<u32>(a, d.hi);
    }
    tr_ = cacheFrom(sel, d);
    cr0_ |= cr0::TS;
    if (new32 && (cr0_ & cr0::PG) && ncr3 != cr3_) {
        cr3_ = ncr3;
        tlbFlush(false);
    }
    for (unsigned i = 0; i < 8; ++i) regs_[i] = new32 ? nregs[i] : ((regs_[i] & 0xFFFF0000u) | nregs[i]);
    eip_ = neip;
    loadFlags(nflags & 0x003F7FD5u);
    // Selectors first (as the CPU does), then descriptors; faults here belong to the
    // new task and are #TS(selector).
    for (unsigned i = 0; i < 6; ++i) seg_[i].selector = nseg[i];
    ldtr_.selector = nldt;
    ldtr_.valid = false;
    // A task whose EFLAGS image has VM set runs in virtual-8086 mode: CPL 3, segment
    // registers loaded as in real mode (SDM Vol. 3 7.3 step 13, 20.2.1).
    const bool toVm86 = eflags_ & fl::VM;
    setCpl(toVm86 ? 3 : nseg[CS] & 3);
    auto asTs = [&](u16 s, auto&& fn) {
        try {
            fn();
        } catch (const Fault& f) {
            if (f.vector == vec::GP) raise(vec::TS, s & 0xFFFC);
            throw;
        }
    };
    if (nldt & 0xFFFC) {
        if (nldt & 4) raise(vec::TS, nldt & 0xFFFC);
        asTs(nldt, [&] { lldt(nldt); });
    }
    if (toVm86) {
        for (unsigned i = 0; i < kSegCount; ++i) seg_[i] = vm86Segment(nseg[i]);
    } else {
        const u16 cs = nseg[CS];
        if ((cs & 0xFFFC) == 0) raise(vec::TS, 0);
        Descriptor cd;
        asTs(cs, [&] { cd = fetchDescriptor(cs); });
        if (!cd.isCode() || (cd.conforming() ? cd.dpl() > (cs & 3) : cd.dpl() != (cs & 3)))
            raise(vec::TS, cs & 0xFFFC);
        if (!cd.present()) raise(vec::NP, cs & 0xFFFC);
        seg_[CS] = cacheFrom(cs, cd);
        asTs(nseg[SS], [&] { loadSegment(SS, nseg[SS]); });
        for (unsigned s : {ES, DS, FS, GS}) asTs(nseg[s], [&] { loadSegment(s, nseg[s]); });
    }
    invalidateFetch();
    if (errorToPush) push<u32>(errorToPush->code);
    if (eip_ > seg_[CS].hi) raise(vec::GP, 0);
}

void Cpu::lldt(u16 sel) {
    if ((sel & 0xFFFC) == 0) {
        ldtr_.selector = sel;
        ldtr_.valid = false;
        return;
    }
    if (sel & 4) raise(vec::GP, sel & 0xFFFC);
    Descriptor d = fetchDescriptor(sel);
    if (d.s() || d.type() != 2) raise(vec::GP, sel & 0xFFFC);
    if (!d.present()) raise(vec::NP, sel & 0xFFFC);
    ldtr_ = cacheFrom(sel, d);
}

void Cpu::ltr(u16 sel) {
    if ((sel & 0xFFFC) == 0) raise(vec::GP, 0);
    if (sel & 4) raise(vec::GP, sel & 0xFFFC);
    Descriptor d = fetchDescriptor(sel);
    if (d.s() || (d.type() != 1 && d.type() != 9)) raise(vec::GP, sel & 0xFFFC);
    if (!d.present()) raise(vec::NP, sel & 0xFFFC);
    d.hi |= 2u << 8;  // busy
    writeSys<u32>(descriptorAddress(sel) + 4, d.hi);
    tr_ = cacheFrom(sel, d);
}

bool Cpu::accessCheckLarLsl(u16 sel, bool lsl, u32& out) {
    if ((sel & 0xFFFC) == 0) return false;
    const u32 index = sel & ~7u;
    const TableReg t = (sel & 4) ? TableReg{ldtr_.base, ldtr_.valid ? ldtr_.limit : 0} : gdtr_;
    if ((sel & 4) && !ldtr_.valid) return false;
    if (index + 7 > t.limit) return false;
    Descriptor d;
    d.lo = readSys<u32>(t.base + index);
    d.hi = readSys<u32>(t.base + index + 4);
    if (!d.s()) {
        const unsigned ty = d.type();
        const bool ok = lsl ? (ty == 1 || ty == 2 || ty == 3 || ty == 9 || ty == 11)
                            : (ty == 1 || ty == 2 || ty == 3 || ty == 4 || ty == 5 || ty == 9 ||
                               ty == 11 || ty == 12);
        if (!ok) return false;
    }
    if (!d.conforming() && (d.dpl() < cpl_ || d.dpl() < (sel & 3u))) return false;
    out = lsl ? d.limit() : (d.hi & 0x00FFFF00u);
    return true;
}

bool Cpu::verify(u16 sel, bool write) {
    if ((sel & 0xFFFC) == 0) return false;
    const u32 index = sel & ~7u;
    if ((sel & 4) && !ldtr_.valid) return false;
    const TableReg t = (sel & 4) ? TableReg{ldtr_.base, ldtr_.limit} : gdtr_;
    if (index + 7 > t.limit) return false;
    Descriptor d;
    d.lo = readSys<u32>(t.base + index);
    d.hi = readSys<u32>(t.base + index + 4);
    if (!d.s()) return false;
    if (!d.conforming() && (d.dpl() < cpl_ || d.dpl() < (sel & 3u))) return false;
    if (write) return !d.isCode() && (d.type() & 2);
    return !d.isCode() || (d.type() & 2);
}

// ---------------------------------------------------------------- control registers

void Cpu::writeCr(unsigned n, u32 v) {
    switch (n) {
    case 0: {
        if ((v & cr0::PG) && !(v & cr0::PE)) raise(vec::GP, 0);
        if ((v & cr0::NW) && !(v & cr0::CD)) raise(vec::GP, 0);
        const u32 old = cr0_;
        cr0_ = (v & 0xE005003Fu) | cr0::ET;
        if ((old ^ cr0_) & (cr0::PG | cr0::WP | cr0::PE)) tlbFlush(true);
        if (!(cr0_ & cr0::PE)) setCpl(0);
        invalidateFetch();
        return;
    }
    case 2: cr2_ = v; return;
    case 3:
        cr3_ = v & 0xFFFFF018u;
        tlbFlush(false);
        return;
    case 4: {
        if (v & ~cr4::kSupported) raise(vec::GP, 0);
        const u32 old = cr4_;
        cr4_ = v;
        if ((old ^ v) & (cr4::PSE | cr4::PGE)) tlbFlush(true);
        return;
    }
    default: invalidOpcode();
    }
}

// ---------------------------------------------------------------- CPUID, MSRs, TSC

void Cpu::cpuid() {
    const u32 leaf = regs_[EAX];
    u32 a = 0, b = 0, c = 0, d = 0;
    auto sig = [](const char* s) {
        u32 v;
        std::memcpy(&v, s, 4);
        return v;
    };
    switch (leaf) {
    case 0:
        // Leaves 2..0x14 read as zero (nothing advertised); 0x15 gives the TSC rate.
        a = 0x15;
        b = sig("Genu");
        d = sig("ineI");
        c = sig("ntel");
        break;
    case 1:
        // A Pentium M "Banias" (family 6, model 9, stepping 5; SDM Vol. 2A CPUID,
        // "Version Information"): the P6-class CPU with SSE2 but without PAE -- what
        // Debian's 686 kernel targets, and exactly this CPU's feature set. EBX[15:8]:
        // CLFLUSH line size in quadwords (8 = 64 bytes); brand index, logical count and
        // APIC ID 0.
        a = 0x695;
        b = 8u << 8;
        // Honest feature bits: only what this CPU implements (SDM Vol. 2 Table 3-11).
        d = (1u << 3)     // PSE
            | (1u << 4)   // TSC
            | (1u << 5)   // MSR
            | (1u << 8)   // CX8
            | (1u << 11)  // SEP
            | (1u << 13)  // PGE
            | (CXVM_HAVE_X87 ? ((1u << 0) | (1u << 15)) : 0u);  // FPU; CMOV implies FCMOV
        // MMX, FXSR, SSE, SSE2 and CLFLUSH (ExecSimd*.cpp) run on the host's SSE unit.
        if (CXVM_HAVE_X87 && sseHostAvailable())
            d |= (1u << 19) | (1u << 23) | (1u << 24) | (1u << 25) | (1u << 26);
        c = 1u << 31;  // running under a hypervisor
        break;
    case 0x80000000u:  // extended leaves: the brand string only (no NX, no long mode)
        a = 0x80000004u;
        break;
    case 0x80000002u:
    case 0x80000003u:
    case 0x80000004u: {
        // 48 bytes, NUL-padded (SDM Vol. 2 CPUID, "Brand String").
        static constexpr char kBrand[49] = "cxvm interp i686 (Pentium M class, SSE2)";
        u32 v[4];
        std::memcpy(v, kBrand + 16 * (leaf - 0x80000002u), 16);
        a = v[0];
        b = v[1];
        c = v[2];
        d = v[3];
        break;
    }
    case 0x15:
        // TSC/crystal ratio 1/1 and a 1 GHz "crystal" (SDM Vol. 2 CPUID leaf 15H): the
        // TSC counts the VMM clock's nanoseconds, so Linux takes its rate from here
        // (native_calibrate_tsc) instead of timing loops against the PIT, which a slow
        // emulated CPU fails. Without a clock the TSC counts instructions: no rate.
        if (clock_) {
            a = 1;
            b = 1;
            c = 1'000'000'000;
        }
        break;
    case CXVM_CPUID_BASE:  // hypervisor leaves: the hypercall ABI (hypercall_abi.h)
        a = CXVM_CPUID_FEATURES;
        b = CXVM_CPUID_SIG_EBX;
        c = CXVM_CPUID_SIG_ECX;
        d = CXVM_CPUID_SIG_EDX;
        break;
    case CXVM_CPUID_FEATURES:
        a = CXVM_FEATURE_VMCALL;  // VMCALL/VMMCALL reach the VMM (no port gate)
        break;
    default: break;
    }
    regs_[EAX] = a;
    regs_[EBX] = b;
    regs_[ECX] = c;
    regs_[EDX] = d;
}

std::uint64_t Cpu::tsc() const {
    const u64 t = clock_ ? clock_->nowNs() : retired_;
    return t + tscOffset_;
}

void Cpu::rdmsr() {
    u64 v;
    switch (regs_[ECX]) {
    case msr::TSC: v = tsc(); break;
    case msr::APIC_BASE: v = apicBase_; break;
    case msr::BIOS_SIGN_ID: v = 0; break;
    case 0x17: v = 0; break;  // IA32_PLATFORM_ID
    case msr::SYSENTER_CS: v = msrSysenterCs_; break;
    case msr::SYSENTER_ESP: v = msrSysenterEsp_; break;
    case msr::SYSENTER_EIP: v = msrSysenterEip_; break;
    default: raise(vec::GP, 0);
    }
    regs_[EAX] = u32(v);
    regs_[EDX] = u32(v >> 32);
}

void Cpu::wrmsr() {
    const u64 v = (u64(regs_[EDX]) << 32) | regs_[EAX];
    switch (regs_[ECX]) {
    case msr::TSC: tscOffset_ = v - (clock_ ? clock_->nowNs() : retired_); break;
    case msr::APIC_BASE: apicBase_ = u32(v) & 0xFFFFF900u; break;
    case msr::BIOS_SIGN_ID: break;
    case msr::SYSENTER_CS: msrSysenterCs_ = u32(v) & 0xFFFF; break;
    case msr::SYSENTER_ESP: msrSysenterEsp_ = u32(v); break;
    case msr::SYSENTER_EIP: msrSysenterEip_ = u32(v); break;
    default: raise(vec::GP, 0);
    }
}

void Cpu::sysenter() {
    if (!protectedMode() || (msrSysenterCs_ & 0xFFFC) == 0) raise(vec::GP, 0);
    eflags_ &= ~(fl::VM | fl::IF | fl::RF);
    seg_[CS] = flatSegment(u16(msrSysenterCs_ & 0xFFFC), true, 0);
    seg_[SS] = flatSegment(u16((msrSysenterCs_ + 8) & 0xFFFC), false, 0);
    setCpl(0);
    regs_[ESP] = msrSysenterEsp_;
    eip_ = msrSysenterEip_;
}

void Cpu::sysexit() {
    if (!protectedMode() || cpl_ != 0 || (msrSysenterCs_ & 0xFFFC) == 0) raise(vec::GP, 0);
    seg_[CS] = flatSegment(u16((msrSysenterCs_ + 16) | 3), true, 3);
    seg_[SS] = flatSegment(u16((msrSysenterCs_ + 24) | 3), false, 3);
    setCpl(3);
    regs_[ESP] = regs_[ECX];
    eip_ = regs_[EDX];
}

// ---------------------------------------------------------------- I/O, HLT, hypercalls

void Cpu::ioCheck(u16 port, unsigned size) {
    if (!protectedMode()) return;
    if (!(eflags_ & fl::VM) && cpl_ <= ((eflags_ >> 12) & 3)) return;
    // I/O permission bitmap in the 32-bit TSS (SDM Vol. 1 19.5.2).
    if (!tr_.valid || (tr_.type & 7) != 3 || !(tr_.type & 8) || tr_.limit < 0x67) raise(vec::GP, 0);
    const u32 mapBase = readSys<u16>(tr_.base + 0x66);
    const u32 byte = mapBase + port / 8;
    if (byte + 1 > tr_.limit) raise(vec::GP, 0);
    const u16 bits = readSys<u16>(tr_.base + byte);
    if ((bits >> (port & 7)) & ((1u << size) - 1)) raise(vec::GP, 0);
}

u32 Cpu::ioIn(u16 port, unsigned size) { return io_.read(port, size); }

void Cpu::ioOut(u16 port, unsigned size, u32 v) {
    if (port == 0x80 && postHook_) postHook_(u8(v));
    io_.write(port, size, v);
}

void Cpu::halt() {
    halted_ = true;
    pendingStop_ = StopReason::Halt;
    stopAfterInsn_ = true;
    blockExit_ = true;
}

void Cpu::hypercall() {
    pendingStop_ = StopReason::Hypercall;
    stopAfterInsn_ = true;
    blockExit_ = true;
}

// ---------------------------------------------------------------- x87 escapes

#if CXVM_HAVE_X87
namespace {
class SegmentBus final : public X87MemoryBus {
public:
    SegmentBus(Cpu& c, unsigned seg, bool a32) : c_(c), seg_(seg), a32_(a32) {}
    void read(u32 offset, void* dst, unsigned len) override {
        auto* d = static_cast<u8*>(dst);
        const u32 lin = check(offset, len, false);
        for (unsigned i = 0; i < len;) {
            const unsigned chunk = std::min(len - i, 0x1000 - ((lin + i) & 0xFFF));
            c_.readSlow(lin + i, d + i, chunk, c_.userAcc_);
            i += chunk;
        }
    }
    void write(u32 offset, const void* src, unsigned len) override {
        const auto* s = static_cast<const u8*>(src);
        const u32 lin = check(offset, len, true);
        // Probe every page first: no partial stores on a fault.
        for (u32 p = lin & ~0xFFFu; p <= ((lin + len - 1) & ~0xFFFu); p += 0x1000) {
            u32 phys;
            c_.translate(std::max(p, lin), c_.userAcc_ | 1, true, phys);
            if (p == ((lin + len - 1) & ~0xFFFu)) break;
        }
        for (unsigned i = 0; i < len;) {
            const unsigned chunk = std::min(len - i, 0x1000 - ((lin + i) & 0xFFF));
            c_.writeSlow(lin + i, s + i, chunk, c_.userAcc_);
            i += chunk;
        }
    }

private:
    u32 check(u32 offset, unsigned len, bool write) {
        if (!a32_) offset &= 0xFFFF;
        const SegCache& sc = c_.seg_[seg_];
        if (!(write ? sc.writable : sc.readable) || offset < sc.lo || u64{offset} + len - 1 > sc.hi)
            c_.segFault(seg_, offset, len, write);
        return sc.base + offset;
    }
    Cpu& c_;
    unsigned seg_;
    bool a32_;
};
}  // namespace
#endif

void Cpu::fpuEscape(const Insn& in) {
    // CR0.EM or CR0.TS: #NM (SDM Vol. 3 2.5, 12.x lazy FPU switching).
    if (cr0_ & (cr0::EM | cr0::TS)) raise(vec::NM);
#if CXVM_HAVE_X87
    SegmentBus bus(*this, in.seg, in.a32);
    X87Context ctx{};
    ctx.opcode = in.op;
    ctx.modrm = u8((in.mod << 6) | (in.reg << 3) | in.rm);
    ctx.operand16 = !in.o32;
    ctx.protectedMode = protectedMode() && !(eflags_ & fl::VM);
    ctx.eip = insnEip_;
    ctx.cs = seg_[CS].selector;
    ctx.dataOffset = in.mod == 3 ? 0 : [&] {
        const u32 a = regs_[in.base] + (regs_[in.index] << in.scale) + in.disp;
        return in.a32 ? a : (a & 0xFFFF);
    }();
    ctx.ds = seg_[in.seg].selector;
    u16 ax = u16(regs_[EAX]);
    u32 flags = eflags();
    switch (x87_->execute(ctx, bus, ax, flags)) {
    case X87Outcome::Done: break;
    case X87Outcome::PendingException:
        if (cr0_ & cr0::NE) raise(vec::MF);
        if (ferrHook_) ferrHook_();
        return;
    case X87Outcome::Invalid: invalidOpcode();
    }
    regs_[EAX] = (regs_[EAX] & 0xFFFF0000u) | ax;
    setFlags(fl::kArith, flags);
#else
    (void)in;
    invalidOpcode();
#endif
}

void Cpu::fpuWait() {
    if ((cr0_ & (cr0::MP | cr0::TS)) == (cr0::MP | cr0::TS)) raise(vec::NM);
#if CXVM_HAVE_X87
    if (x87_->hasPendingUnmaskedException()) {
        if (cr0_ & cr0::NE) raise(vec::MF);
        if (ferrHook_) ferrHook_();
    }
#endif
}

}  // namespace cxvm::x86
