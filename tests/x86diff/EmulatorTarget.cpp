#include "EmulatorTarget.h"

#if __has_include("x86/Cpu.h")
#include "hw/GuestMemory.h"
#include "hw/IoBus.h"
#include "hw/Irq.h"
#include "hw/MmioBus.h"
#include "x86/Cpu.h"
#include "x86/X87Unit.h"

#include <cstring>

namespace cxvm::x86::diff {

namespace {

class EmulatorTarget final : public DiffTarget {
public:
    EmulatorTarget(const Layout& l, bool compiled)
        : layout_(l), mem_(l.data + Layout::kDataBytes + 0x10000), cpu_(CpuBus{mem_, io_, mmio_, pins_, nullptr}) {
        cpu_.setExceptionExit(true);
        cpu_.setCompile(compiled, 0);
    }

    const char* name() const override { return cpu_.compiling() ? "compiled" : "emulator"; }

    DiffOutcome run(const DiffCase& c) override {
        std::vector<std::uint8_t> code = c.code;
        const std::uint32_t end = layout_.snippet() + static_cast<std::uint32_t>(code.size());
        code.push_back(0x0F);  // ud2: the end marker
        code.push_back(0x0B);
        // Clear the previous case's code so a shorter snippet cannot run into it.
        std::vector<std::uint8_t> fill(Layout::kCodeBytes, 0xCC);
        mem_.write(layout_.code, fill);
        mem_.write(layout_.snippet(), code);
        mem_.write(layout_.data, c.memory);

        cpu_.setFlat32(layout_.snippet(), c.regs[ESP], 3);
        // As a Linux host runs user code: SSE enabled, SIMD exceptions as #XM.
        cpu_.setCr(4, cr4::OSFXSR | cr4::OSXMMEXCPT);
        for (unsigned i = 0; i < 8; ++i) cpu_.setXmm(i, Cpu::Xmm{{c.xmm[i][0], c.xmm[i][1]}});
        cpu_.setMxcsr(c.mxcsr);
        // The selectors the host runs the snippet with (x86-64 Linux's 32-bit user code
        // and data segments), so FNSTENV/FNSAVE store the same FCS/FDS: the comparison
        // leaves those fields out (CPUs that deprecate them store 0), but a later
        // instruction may read them back (case 1892524: LEAVE popped EBP from an image).
        for (unsigned s = 0; s < kSegCount; ++s) {
            SegCache sc = cpu_.segment(s);
            sc.selector = s == CS ? 0x23 : 0x2B;
            cpu_.setSegment(s, sc);
        }
        for (unsigned r = 0; r < 8; ++r) cpu_.setReg(r, c.regs[r]);
        cpu_.setEflags(c.eflags);
#if CXVM_HAVE_X87
        X87& f = *cpu_.x87_;
        f.init();
        f.setControlWord(static_cast<std::uint16_t>(c.fpu.cw));
        f.setStatusWord(static_cast<std::uint16_t>(c.fpu.sw));
        for (unsigned i = 0; i < 8; ++i) {
            X87Reg v;
            std::memcpy(&v.significand, c.fpu.st[i].data(), 8);
            std::memcpy(&v.signExponent, c.fpu.st[i].data() + 8, 2);
            f.setSt(i, v);
        }
        f.setTagWord(static_cast<std::uint16_t>(c.fpu.tw));
#endif

        const RunResult r = cpu_.run(100000);
        DiffOutcome o;
        for (unsigned i = 0; i < 8; ++i) o.regs[i] = cpu_.reg(i);
        o.eflags = cpu_.eflags();
        const bool normalEnd = r.reason == StopReason::Exception && r.fault.vector == 6 && cpu_.eip() == end;
        if (!normalEnd) {
            o.faulted = true;
            // Not finishing at all shows up as vector 255.
            o.vector = r.reason == StopReason::Exception ? r.fault.vector : 0xFF;
            o.eip = cpu_.eip();
            // The exception exit leaves EIP at a trapping INTO; the host (like the IDT
            // delivery) reports the instruction after it.
            std::uint8_t at = 0;
            if (o.vector == 4 && cpu_.readLinear(o.eip, &at, 1) && at == 0xCE) o.eip += 1;
        }
        for (unsigned i = 0; i < 8; ++i) o.xmm[i] = {cpu_.xmm(i).q[0], cpu_.xmm(i).q[1]};
        o.mxcsr = cpu_.mxcsr();
        o.memory.resize(Layout::kDataBytes);
        mem_.read(layout_.data, o.memory);
#if CXVM_HAVE_X87
        o.fpu.cw = f.controlWord();
        o.fpu.sw = f.statusWord();
        o.fpu.tw = f.tagWord();
        for (unsigned i = 0; i < 8; ++i) {
            const X87Reg v = f.st(i);
            std::memcpy(o.fpu.st[i].data(), &v.significand, 8);
            std::memcpy(o.fpu.st[i].data() + 8, &v.signExponent, 2);
        }
#endif
        return o;
    }

private:
    Layout layout_;
    hw::GuestMemory mem_;
    hw::IoBus io_;
    hw::MmioBus mmio_;
    hw::CpuInterruptPins pins_;
    Cpu cpu_;
};

}  // namespace

std::unique_ptr<DiffTarget> makeEmulatorTarget(const Layout& layout, bool compiled) {
    return std::make_unique<EmulatorTarget>(layout, compiled);
}

}  // namespace cxvm::x86::diff

#else

namespace cxvm::x86::diff {
std::unique_ptr<DiffTarget> makeEmulatorTarget(const Layout&, bool) { return nullptr; }
}  // namespace cxvm::x86::diff

#endif
