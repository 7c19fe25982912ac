// `--firmware`'s ROM alias below 1 MiB on the kvm engine (boot::loadFirmwareRom splits
// the RAM slot around a read-only slot at 0xF0000): a BIOS-style reset vector far-jumps
// to F000:E05B, a store into the alias is dropped, POST codes reach port 0x80. The same
// guest in assembly runs on interp in tests/vmm/FirmwareRomTest.cpp; this one is
// hand-assembled because the nested L1 that runs these tests has no nasm; the interp
// runs the very same bytes here, so both engines are held to one expectation.
#include "KvmTestMachine.h"

#include "boot/FirmwareRom.h"
#include "engine/InterpEngine.h"

namespace cxvm::engine::test {
namespace {

std::vector<std::uint8_t> biosStyleRom() {
    std::vector<std::uint8_t> rom(0x10000, 0xF4);  // hlt everywhere else
    rom[0xE000] = 0xA5;                              // a ROM byte the guest tries to change
    const std::uint8_t post[] = {
        0xB0, 0x01, 0xE6, 0x80,              // mov al, 1 ; out 0x80, al
        0xB8, 0x00, 0xF0, 0x8E, 0xD8,        // mov ax, 0xF000 ; mov ds, ax
        0xC6, 0x06, 0x00, 0xE0, 0x5A,        // mov byte [0xE000], 0x5A  (dropped: ROM)
        0xA0, 0x00, 0xE0, 0xE6, 0x81,        // mov al, [0xE000] ; out 0x81, al
        0xB0, 0x55, 0xE6, 0x80,              // mov al, 0x55 ; out 0x80, al
        0xF4,                                // hlt
    };
    std::copy(std::begin(post), std::end(post), rom.begin() + 0xE05B);
    const std::uint8_t reset[] = {0xEA, 0x5B, 0xE0, 0x00, 0xF0};  // jmp 0xF000:0xE05B
    std::copy(std::begin(reset), std::end(reset), rom.begin() + 0xFFF0);
    return rom;
}

void expectBiosRan(Vcpu& vcpu, const RecordingPort& ports) {
    ASSERT_EQ(ports.writes.size(), 3u);
    EXPECT_EQ(ports.writes[0].port, 0x80);
    EXPECT_EQ(ports.writes[0].value & 0xFF, 0x01u);
    EXPECT_EQ(ports.writes[1].port, 0x81);
    EXPECT_EQ(ports.writes[1].value & 0xFF, 0xA5u);  // the store was ignored
    EXPECT_EQ(ports.writes[2].value & 0xFF, 0x55u);
    EXPECT_EQ(vcpu.sregs().cs.selector, 0xF000);
    EXPECT_EQ(vcpu.sregs().cs.base, 0xF0000u);
    EXPECT_EQ(vcpu.regs().rip, 0xE05Bu + 24);  // past the HLT
}

TEST(KvmFirmware, ResetVectorJumpsIntoTheReadOnlyAliasBelowOneMegabyte) {
    REQUIRE_KVM();
    KvmTestMachine m;
    RecordingPort ports;
    m.io->attach(0x80, 2, ports);
    const boot::FirmwareLayout at = boot::loadFirmwareRom(*m.memory, biosStyleRom(), "bios");
    EXPECT_EQ(at.aliasBase, 0xF0000u);
    m.vcpu->reset();
    ASSERT_EQ(m.vcpu->run(0).reason, ExitReason::Halt);
    expectBiosRan(*m.vcpu, ports);
}

TEST(KvmFirmware, InterpRunsTheSameRom) {
    hw::GuestMemory memory{1 << 20};
    hw::IoBus io;
    hw::MmioBus mmio;
    hw::CpuInterruptPins pins;
    RecordingPort ports;
    io.attach(0x80, 2, ports);
    boot::loadFirmwareRom(memory, biosStyleRom(), "bios");
    InterpEngine engine(MachineBus{memory, io, mmio, pins});
    auto vcpu = engine.createVcpu(0);
    vcpu->reset();
    ASSERT_EQ(vcpu->run(1000).reason, ExitReason::Halt);
    expectBiosRan(*vcpu, ports);
}

}  // namespace
}  // namespace cxvm::engine::test
