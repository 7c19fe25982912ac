#include "engine/InterpEngine.h"

#include <fmt/format.h>

#include "util/Error.h"

namespace cxvm::engine {

namespace {
Segment toSegment(const x86::SegCache& c) {
    Segment s;
    s.base = c.base;
    s.limit = c.limit;
    s.selector = c.selector;
    s.type = c.type;
    s.present = c.present;
    s.dpl = c.dpl;
    s.db = c.db;
    s.s = c.s;
    s.g = c.g;
    s.avl = c.avl;
    s.unusable = c.valid ? 0 : 1;
    return s;
}
x86::SegCache fromSegment(const Segment& s) {
    x86::SegCache c;
    c.base = static_cast<std::uint32_t>(s.base);
    c.limit = s.limit;
    c.selector = s.selector;
    c.type = s.type;
    c.present = s.present;
    c.dpl = s.dpl;
    c.db = s.db;
    c.s = s.s;
    c.g = s.g;
    c.avl = s.avl;
    c.valid = !s.unusable;
    c.derive();
    return c;
}
}  // namespace

InterpVcpu::InterpVcpu(const MachineBus& bus, const hw::Clock* clock)
    : cpu_(x86::CpuBus{bus.memory, bus.io, bus.mmio, bus.pins, clock}) {}

Exit InterpVcpu::run(std::uint64_t maxInstructions) {
    const x86::RunResult r = cpu_.run(maxInstructions);
    Exit e;
    switch (r.reason) {
    case x86::StopReason::SliceEnd: e.reason = ExitReason::SliceEnd; break;
    case x86::StopReason::Halt: e.reason = ExitReason::Halt; break;
    case x86::StopReason::Stopped: e.reason = ExitReason::Stopped; break;
    case x86::StopReason::Hypercall:
        e.reason = ExitReason::Hypercall;
        e.hypercall = {cpu_.reg(x86::EAX), cpu_.reg(x86::EBX), cpu_.reg(x86::ECX),
                       cpu_.reg(x86::EDX), cpu_.reg(x86::ESI)};
        break;
    case x86::StopReason::Shutdown:
        e.reason = ExitReason::Shutdown;
        e.detail = cpu_.shutdownReason();
        break;
    case x86::StopReason::Exception:
        e.reason = ExitReason::Shutdown;
        e.detail = fmt::format("unhandled exception vector {} at {:08x}", r.fault.vector, cpu_.eip());
        break;
    }
    return e;
}

Regs InterpVcpu::regs() const {
    Regs r{};
    r.rax = cpu_.reg(x86::EAX);
    r.rbx = cpu_.reg(x86::EBX);
    r.rcx = cpu_.reg(x86::ECX);
    r.rdx = cpu_.reg(x86::EDX);
    r.rsi = cpu_.reg(x86::ESI);
    r.rdi = cpu_.reg(x86::EDI);
    r.rsp = cpu_.reg(x86::ESP);
    r.rbp = cpu_.reg(x86::EBP);
    r.rip = cpu_.eip();
    r.rflags = cpu_.eflags();
    return r;
}

void InterpVcpu::setRegs(const Regs& r) {
    cpu_.setReg(x86::EAX, static_cast<std::uint32_t>(r.rax));
    cpu_.setReg(x86::EBX, static_cast<std::uint32_t>(r.rbx));
    cpu_.setReg(x86::ECX, static_cast<std::uint32_t>(r.rcx));
    cpu_.setReg(x86::EDX, static_cast<std::uint32_t>(r.rdx));
    cpu_.setReg(x86::ESI, static_cast<std::uint32_t>(r.rsi));
    cpu_.setReg(x86::EDI, static_cast<std::uint32_t>(r.rdi));
    cpu_.setReg(x86::ESP, static_cast<std::uint32_t>(r.rsp));
    cpu_.setReg(x86::EBP, static_cast<std::uint32_t>(r.rbp));
    cpu_.setEip(static_cast<std::uint32_t>(r.rip));
    cpu_.setEflags(static_cast<std::uint32_t>(r.rflags));
}

Sregs InterpVcpu::sregs() const {
    Sregs s;
    s.es = toSegment(cpu_.segment(x86::ES));
    s.cs = toSegment(cpu_.segment(x86::CS));
    s.ss = toSegment(cpu_.segment(x86::SS));
    s.ds = toSegment(cpu_.segment(x86::DS));
    s.fs = toSegment(cpu_.segment(x86::FS));
    s.gs = toSegment(cpu_.segment(x86::GS));
    s.tr = toSegment(cpu_.tr());
    s.ldt = toSegment(cpu_.ldtr());
    s.gdt = {cpu_.gdtr().base, static_cast<std::uint16_t>(cpu_.gdtr().limit)};
    s.idt = {cpu_.idtr().base, static_cast<std::uint16_t>(cpu_.idtr().limit)};
    s.cr0 = cpu_.cr(0);
    s.cr2 = cpu_.cr(2);
    s.cr3 = cpu_.cr(3);
    s.cr4 = cpu_.cr(4);
    return s;
}

void InterpVcpu::setSregs(const Sregs& s) {
    if (s.efer != 0) throw Error::format("interp engine: EFER {:#x} not supported (no long mode)", s.efer);
    cpu_.setCr(0, static_cast<std::uint32_t>(s.cr0));
    cpu_.setCr(2, static_cast<std::uint32_t>(s.cr2));
    cpu_.setCr(3, static_cast<std::uint32_t>(s.cr3));
    cpu_.setCr(4, static_cast<std::uint32_t>(s.cr4));
    cpu_.setGdtr({static_cast<std::uint32_t>(s.gdt.base), s.gdt.limit});
    cpu_.setIdtr({static_cast<std::uint32_t>(s.idt.base), s.idt.limit});
    cpu_.setTr(fromSegment(s.tr));
    cpu_.setLdtr(fromSegment(s.ldt));
    cpu_.setSegment(x86::ES, fromSegment(s.es));
    cpu_.setSegment(x86::SS, fromSegment(s.ss));
    cpu_.setSegment(x86::DS, fromSegment(s.ds));
    cpu_.setSegment(x86::FS, fromSegment(s.fs));
    cpu_.setSegment(x86::GS, fromSegment(s.gs));
    cpu_.setSegment(x86::CS, fromSegment(s.cs));
}

std::unique_ptr<Vcpu> InterpEngine::createVcpu(unsigned index) {
    if (index != 0) throw Error::format("interp engine: vCPU {} requested; only one vCPU is supported", index);
    return std::make_unique<InterpVcpu>(bus_, clock_);
}

std::string InterpVcpu::statistics() const {
    const x86::Cpu::BlockStats s = cpu_.blockStats();
    return fmt::format(
        "interp: {} blocks translated, {} compiled ({} KiB of code), {} cache flushes, {} stores "
        "to code pages",
        s.builds, s.compiled, s.codeBytes >> 10, s.flushes, s.codePageWrites);
}

}  // namespace cxvm::engine
