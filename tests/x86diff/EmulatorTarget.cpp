#include "EmulatorTarget.h"

#if __has_include("x86/Cpu.h")
#include "hw/GuestMemory.h"
#include "hw/IoBus.h"
#include "hw/Irq.h"
#include "hw/MmioBus.h"
#include "x86/Cpu.h"
#include "x86/X87Unit.h"

#include <cstring>
#include <vector>

namespace cxvm::x86::diff {

namespace {

// A segment descriptor (SDM Vol. 3A 3.4.5).
std::uint64_t descriptor(std::uint32_t base, std::uint32_t limit, unsigned type, unsigned dpl, bool db,
                         bool g, bool l = false, bool avl = false) {
    const std::uint32_t lo = (limit & 0xFFFF) | (base << 16);
    const std::uint32_t hi = ((base >> 16) & 0xFF) | (type << 8) | (1u << 12) | (dpl << 13) | (1u << 15) |
                             (limit & 0xF0000) | (avl ? 1u << 20 : 0) | (l ? 1u << 21 : 0) |
                             (db ? 1u << 22 : 0) | (g ? 1u << 23 : 0) | (base & 0xFF000000u);
    return lo | (std::uint64_t{hi} << 32);
}

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
        writeDescriptorTables();

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
            sc.selector = s == CS ? Layout::kUserCs : Layout::kUserDs;
            cpu_.setSegment(s, sc);
        }
        // x86-64 Linux's GDT entries a 32-bit process may name and the LDT with the
        // runner's 16-bit stack segment, so that POP SS / MOV SS / far CALL and RET load
        // real descriptors and refuse the same selectors as natively.
        cpu_.setGdtr(TableReg{gdt(), kGdtEntries * 8 - 1});
        SegCache ldt;
        ldt.selector = 0x50;  // GDT_ENTRY_LDT (10) on x86-64 Linux
        ldt.base = ldt_();
        ldt.limit = 7;        // one entry, as modify_ldt makes it
        ldt.type = 0x2;
        ldt.s = 0;
        ldt.dpl = 0;
        ldt.present = 1;
        ldt.valid = true;
        ldt.derive();
        cpu_.setLdtr(ldt);
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
    static constexpr unsigned kGdtEntries = 16;  // GDT_ENTRIES on x86-64 Linux
    // Outside the compared window (the snippet's accesses stay in it).
    std::uint32_t gdt() const { return layout_.data + Layout::kDataBytes + 0x1000; }
    std::uint32_t ldt_() const { return gdt() + 0x100; }
    void writeDescriptorTables() {
        std::vector<std::uint8_t> t(kGdtEntries * 8, 0);
        const auto put = [&](unsigned index, std::uint64_t d) { std::memcpy(&t[index * 8], &d, 8); };
        put(1, descriptor(0, 0xFFFFF, 0xB, 0, true, true));          // __KERNEL32_CS
        put(2, descriptor(0, 0xFFFFF, 0xB, 0, false, true, true));   // __KERNEL_CS (64-bit)
        put(3, descriptor(0, 0xFFFFF, 0x3, 0, true, true));          // __KERNEL_DS
        put(4, descriptor(0, 0xFFFFF, 0xB, 3, true, true));          // __USER32_CS 0x23
        put(5, descriptor(0, 0xFFFFF, 0x3, 3, true, true));          // __USER_DS 0x2B
        put(6, descriptor(0, 0xFFFFF, 0xB, 3, false, true, true));   // __USER_CS 0x33 (64-bit)
        mem_.write(gdt(), t);
        std::vector<std::uint8_t> l(8);
        const std::uint64_t d = descriptor(layout_.stack16Base(), 0xFFFF, 0x3, 3, false, false, false, true);
        std::memcpy(l.data(), &d, 8);
        mem_.write(ldt_(), l);
    }

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
