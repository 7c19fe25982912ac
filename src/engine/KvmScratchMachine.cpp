#include "engine/KvmScratchMachine.h"

#include <array>
#include <cstring>

namespace cxvm::engine {

KvmScratchMachine::KvmScratchMachine(KvmOptions options, std::uint64_t ramBytes)
    : memory(std::make_unique<hw::GuestMemory>(ramBytes)),
      io(std::make_unique<hw::IoBus>()),
      mmio(std::make_unique<hw::MmioBus>()),
      bus{*memory, *io, *mmio, pins},
      engine(std::make_unique<KvmEngine>(bus, std::move(options))),
      vcpu(engine->createVcpu(0)) {}

void KvmScratchMachine::protectedMode(std::uint64_t rip) {
    // Descriptors (SDM Vol. 3A 3.4.5): flat 4 GiB, 32-bit, code execute/read, data read/write.
    const std::array<std::uint64_t, 3> gdt = {0, 0x00CF9A000000FFFFull, 0x00CF92000000FFFFull};
    std::array<std::uint8_t, sizeof gdt> bytes{};
    std::memcpy(bytes.data(), gdt.data(), sizeof gdt);
    load(kGdt, bytes);
    auto flat = [](std::uint16_t sel, std::uint8_t type) {
        Segment seg;
        seg.selector = sel;
        seg.limit = 0xFFFFFFFF;
        seg.type = type;
        seg.present = 1;
        seg.s = 1;
        seg.db = 1;
        seg.g = 1;
        return seg;
    };
    Sregs s = vcpu->sregs();
    s.cs = flat(0x08, 0xB);
    s.ds = s.es = s.fs = s.gs = s.ss = flat(0x10, 0x3);
    s.gdt = {kGdt, sizeof gdt - 1};
    s.idt = {kIdt, 0x100 * 8 - 1};
    s.cr0 = 0x11;  // PE, ET
    vcpu->setSregs(s);
    Regs r{};
    r.rip = rip;
    r.rflags = 0x2;
    r.rsp = kStackTop;
    vcpu->setRegs(r);
}

void KvmScratchMachine::interruptGate(std::uint8_t vector, std::uint32_t handler) {
    // 32-bit interrupt gate (SDM Vol. 3A 6.11): offset, selector 0x08, P=1 DPL=0 type 0xE.
    const std::uint64_t gate = (handler & 0xFFFFull) | (0x08ull << 16) | (0x8E00ull << 32) |
                               (static_cast<std::uint64_t>(handler >> 16) << 48);
    std::array<std::uint8_t, 8> b{};
    std::memcpy(b.data(), &gate, 8);
    load(kIdt + vector * 8ull, b);
}

}  // namespace cxvm::engine
