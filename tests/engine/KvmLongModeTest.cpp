// The 64-bit boot protocol's entry state (boot/LinuxBoot64.h) on a real kvm vCPU: the
// identity page tables and 64-bit GDT must take the CPU straight into long mode.
#include "KvmTestMachine.h"

#include "boot/LinuxBoot64.h"

namespace cxvm::engine::test {
namespace {

TEST(KvmLongMode, EntryStateRunsSixtyFourBitCode) {
    REQUIRE_KVM();
    KvmTestMachine m;
    boot::writeLongModeTables(*m.memory);
    constexpr std::uint64_t kEntry = 0x80000 + boot::LongModeLayout::kStartup64Offset;
    // mov rax, 0x1122334455667788 ; mov [0x9000], rax (moffs64) ; mov rbx, rsi ; hlt
    m.load(kEntry, {0x48, 0xB8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
                    0x48, 0xA3, 0x00, 0x90, 0, 0, 0, 0, 0, 0, 0x48, 0x89, 0xF3, 0xF4});
    boot::setLongModeEntryState(*m.vcpu, kEntry, 0x7000);
    ASSERT_EQ(m.vcpu->run(0).reason, ExitReason::Halt);
    std::uint64_t stored = 0;
    m.memory->read(0x9000, {reinterpret_cast<std::uint8_t*>(&stored), 8});
    EXPECT_EQ(stored, 0x1122334455667788ull);  // a 64-bit store: long mode for real
    EXPECT_EQ(m.vcpu->regs().rbx, 0x7000u);     // RSI = boot_params
    Sregs s = m.vcpu->sregs();
    EXPECT_NE(s.efer & (1u << 10), 0u);  // LMA
    EXPECT_EQ(s.cs.l, 1);
    EXPECT_EQ(s.cs.selector, boot::LinuxBootLayout::kBootCs);
}

TEST(KvmLongMode, IdentityMapCoversTheLowFourGiB) {
    hw::GuestMemory mem(1 << 20);
    boot::writeLongModeTables(mem);
    std::uint64_t pml4 = 0, pdpt3 = 0, pd3last = 0;
    mem.read(boot::LongModeLayout::kPml4Addr, {reinterpret_cast<std::uint8_t*>(&pml4), 8});
    mem.read(boot::LongModeLayout::kPdptAddr + 3 * 8, {reinterpret_cast<std::uint8_t*>(&pdpt3), 8});
    mem.read(boot::LongModeLayout::kPdAddr + 3 * 4096 + 511 * 8,
             {reinterpret_cast<std::uint8_t*>(&pd3last), 8});
    EXPECT_EQ(pml4 & ~0xFFFull, boot::LongModeLayout::kPdptAddr);
    EXPECT_EQ(pdpt3 & ~0xFFFull, boot::LongModeLayout::kPdAddr + 3 * 4096);
    EXPECT_EQ(pd3last & ~0xFFFull, (4ull << 30) - (2ull << 20));  // last 2 MiB below 4 GiB
    EXPECT_EQ(pd3last & 0x83, 0x83u);                               // present, writable, 2 MiB
}

}  // namespace
}  // namespace cxvm::engine::test
