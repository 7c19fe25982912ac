// The Linux direct-boot loader on synthetic bzImages (every field under the test's
// control) and, when the guest kit is fetched, on the kit's real kernel.
#include "boot/E820Map.h"
#include "boot/FirmwareRom.h"
#include "boot/LinuxBoot.h"
#include "boot/LinuxBootParams.h"
#include "SyntheticImages.h"
#include "util/Error.h"
#include "util/File.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace cxvm::boot {
namespace {

using testing::kMiB;
using testing::SyntheticBzImage;

std::uint32_t rd32(hw::GuestMemory& m, std::uint64_t gpa) {
    std::uint8_t b[4];
    m.read(gpa, b);
    return b[0] | b[1] << 8 | b[2] << 16 | static_cast<std::uint32_t>(b[3]) << 24;
}
std::uint64_t rd64(hw::GuestMemory& m, std::uint64_t gpa) {
    return rd32(m, gpa) | static_cast<std::uint64_t>(rd32(m, gpa + 4)) << 32;
}

std::string errorOf(hw::GuestMemory& m, const LinuxBootImages& imgs,
                    const LinuxBootOptions& o = {}) {
    try {
        loadLinux(m, imgs, o);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

std::vector<std::uint8_t> initrdOf(std::size_t n) {
    std::vector<std::uint8_t> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(i ^ 0x5A);
    return v;
}

TEST(LinuxBoot, KernelGoesToPrefAddressWithBootParams) {
    SyntheticBzImage k;
    hw::GuestMemory mem(64 * kMiB);
    auto rd = initrdOf(300000);
    const std::string cmd = "console=ttyS0 reboot=k";
    LinuxBootLayout l = loadLinux(mem, {k.bytes, rd, cmd});

    EXPECT_EQ(l.protocol, 0x020F);
    EXPECT_EQ(l.kernelAddr, 0x1000000u);
    EXPECT_EQ(l.kernelEnd, 0x1000000u + 4 * kMiB);
    // The protected-mode kernel is the image after the setup sectors.
    std::vector<std::uint8_t> got(k.bytes.size() - SyntheticBzImage::kSetup);
    mem.read(l.kernelAddr, got);
    EXPECT_TRUE(std::equal(got.begin(), got.end(), k.bytes.begin() + SyntheticBzImage::kSetup));

    const std::uint64_t bp = LinuxBootLayout::kBootParamsAddr;
    // Setup header copied: boot flag, HdrS, version.
    EXPECT_EQ(rd32(mem, bp + 0x202), 0x53726448u);
    EXPECT_EQ(rd32(mem, bp + 0x1FE) & 0xFFFF, 0xAA55u);
    // Loader fields.
    std::uint8_t b[1];
    mem.read(bp + 0x210, b);
    EXPECT_EQ(b[0], 0xFF);  // type_of_loader
    mem.read(bp + 0x211, b);
    EXPECT_EQ(b[0], 0x01);  // LOADED_HIGH kept, CAN_USE_HEAP cleared
    EXPECT_EQ(rd32(mem, bp + 0x214), 0x1000000u);  // code32_start = where it is
    EXPECT_EQ(rd32(mem, bp + 0x228), LinuxBootLayout::kCmdlineAddr);
    EXPECT_EQ(rd32(mem, bp + 0x218), l.initrdAddr);
    EXPECT_EQ(rd32(mem, bp + 0x21C), 300000u);
    EXPECT_EQ(rd32(mem, bp + 0x1E0), (64 * kMiB - kMiB) / 1024);  // alt_mem_k

    // Command line, NUL terminated.
    std::vector<std::uint8_t> c(cmd.size() + 1);
    mem.read(LinuxBootLayout::kCmdlineAddr, c);
    EXPECT_EQ(std::string(c.begin(), c.end() - 1), cmd);
    EXPECT_EQ(c.back(), 0);

    // Initrd: page aligned, as high as RAM allows, contents intact.
    EXPECT_EQ(l.initrdAddr % 4096, 0u);
    EXPECT_LE(l.initrdAddr + 300000, 64 * kMiB);
    EXPECT_GT(l.initrdAddr + 300000 + 4096, 64 * kMiB);
    std::vector<std::uint8_t> r(300000);
    mem.read(l.initrdAddr, r);
    EXPECT_EQ(r, rd);
}

TEST(LinuxBoot, E820MatchesGuestMemoryLayout) {
    SyntheticBzImage k;
    hw::GuestMemory mem(128 * kMiB);
    loadLinux(mem, {k.bytes, {}, "x"});
    const std::uint64_t bp = LinuxBootLayout::kBootParamsAddr;
    std::uint8_t n[1];
    mem.read(bp + 0x1E8, n);
    ASSERT_EQ(n[0], 3);
    struct {
        std::uint64_t addr, size;
        std::uint32_t type;
    } want[] = {{0, 0xA0000, 1}, {0xA0000, 0x60000, 2}, {0x100000, 127 * kMiB, 1}};
    for (int i = 0; i < 3; ++i) {
        const std::uint64_t e = bp + 0x2D0 + 20 * static_cast<std::uint64_t>(i);
        EXPECT_EQ(rd64(mem, e), want[i].addr) << i;
        EXPECT_EQ(rd64(mem, e + 8), want[i].size) << i;
        EXPECT_EQ(rd32(mem, e + 16), want[i].type) << i;
    }
    EXPECT_EQ(pcE820Map(128 * kMiB).back().addr + pcE820Map(128 * kMiB).back().size, 128 * kMiB);
}

TEST(LinuxBoot, EntryStateIsTheProtocols) {
    SyntheticBzImage k;
    hw::GuestMemory mem(64 * kMiB);
    LinuxBootLayout l = loadLinux(mem, {k.bytes, {}, ""});
    EXPECT_EQ(l.regs.rip, 0x1000000u);
    EXPECT_EQ(l.regs.rsi, LinuxBootLayout::kBootParamsAddr);
    EXPECT_EQ(l.regs.rbx, 0u);
    EXPECT_EQ(l.regs.rbp, 0u);
    EXPECT_EQ(l.regs.rdi, 0u);
    EXPECT_EQ(l.regs.rflags & (1u << 9), 0u);  // IF = 0
    EXPECT_EQ(l.sregs.cr0, 1u);                 // PE only
    EXPECT_EQ(l.sregs.cs.selector, 0x10);
    EXPECT_EQ(l.sregs.cs.base, 0u);
    EXPECT_EQ(l.sregs.cs.limit, 0xFFFFFFFFu);
    EXPECT_EQ(l.sregs.cs.db, 1);
    EXPECT_EQ(l.sregs.cs.type & 0x8, 0x8);  // code
    for (const auto* s : {&l.sregs.ds, &l.sregs.es, &l.sregs.ss, &l.sregs.fs, &l.sregs.gs}) {
        EXPECT_EQ(s->selector, 0x18);
        EXPECT_EQ(s->limit, 0xFFFFFFFFu);
        EXPECT_EQ(s->type & 0xA, 0x2);  // data, writable
    }
    // The GDT in memory has the same flat descriptors.
    EXPECT_EQ(l.sregs.gdt.base, LinuxBootLayout::kGdtAddr);
    EXPECT_EQ(rd64(mem, LinuxBootLayout::kGdtAddr + 0x10), 0x00CF9B000000FFFFull);
    EXPECT_EQ(rd64(mem, LinuxBootLayout::kGdtAddr + 0x18), 0x00CF93000000FFFFull);
}

TEST(LinuxBoot, OldProtocolLoadsAtCode32Start) {
    SyntheticBzImage k(64 * 1024, 0x0206);
    hw::GuestMemory mem(32 * kMiB);
    LinuxBootLayout l = loadLinux(mem, {k.bytes, {}, ""});
    EXPECT_EQ(l.kernelAddr, 0x100000u);
}

TEST(LinuxBoot, NotABzImage) {
    std::vector<std::uint8_t> junk(8192, 0x90);
    hw::GuestMemory mem(32 * kMiB);
    std::string e = errorOf(mem, {junk, {}, ""});
    EXPECT_NE(e.find("kernel image"), std::string::npos) << e;
    EXPECT_NE(e.find("not a bzImage"), std::string::npos) << e;
}

TEST(LinuxBoot, ProtocolTooOld) {
    SyntheticBzImage k(64 * 1024, 0x0204);
    hw::GuestMemory mem(32 * kMiB);
    std::string e = errorOf(mem, {k.bytes, {}, ""});
    EXPECT_NE(e.find("2.04 is too old"), std::string::npos) << e;
}

TEST(LinuxBoot, SixtyFourBitKernelNeedsLongMode) {
    SyntheticBzImage k;
    k.put16(0x236, 0x01);  // XLF_KERNEL_64
    hw::GuestMemory mem(64 * kMiB);
    std::string e = errorOf(mem, {k.bytes, {}, ""});
    EXPECT_NE(e.find("64-bit"), std::string::npos) << e;
    EXPECT_NO_THROW(loadLinux(mem, {k.bytes, {}, ""}, {.cpuHasLongMode = true}));
}

TEST(LinuxBoot, KernelLargerThanRam) {
    SyntheticBzImage k(3 * kMiB);
    k.put32(0x260, 3 * kMiB);
    k.put64(0x258, 0x100000);
    hw::GuestMemory mem(2 * kMiB);
    std::string e = errorOf(mem, {k.bytes, {}, ""});
    EXPECT_NE(e.find("larger than guest RAM"), std::string::npos) << e;
}

TEST(LinuxBoot, KernelNeedsMoreRamThanThere) {
    SyntheticBzImage k;  // 16 MiB + 4 MiB init_size
    hw::GuestMemory mem(18 * kMiB);
    std::string e = errorOf(mem, {k.bytes, {}, ""});
    EXPECT_NE(e.find("--mem"), std::string::npos) << e;
    EXPECT_NE(e.find("20 MiB"), std::string::npos) << e;
}

TEST(LinuxBoot, InitrdLargerThanRam) {
    SyntheticBzImage k;
    hw::GuestMemory mem(24 * kMiB);
    auto rd = initrdOf(25 * kMiB);
    std::string e = errorOf(mem, {k.bytes, rd, ""});
    EXPECT_NE(e.find("initrd"), std::string::npos) << e;
    EXPECT_NE(e.find("larger than guest RAM"), std::string::npos) << e;
}

TEST(LinuxBoot, InitrdNotPlaceable) {
    SyntheticBzImage k;
    hw::GuestMemory mem(24 * kMiB);  // 4 MiB free above the kernel's 20 MiB
    auto rd = initrdOf(5 * kMiB);
    std::string e = errorOf(mem, {k.bytes, rd, ""});
    EXPECT_NE(e.find("cannot be placed"), std::string::npos) << e;
}

TEST(LinuxBoot, InitrdRespectsInitrdAddrMax) {
    SyntheticBzImage k;
    k.put32(0x22C, 0x02FFFFFF);  // 48 MiB - 1
    hw::GuestMemory mem(128 * kMiB);
    auto rd = initrdOf(1 * kMiB);
    LinuxBootLayout l = loadLinux(mem, {k.bytes, rd, ""});
    EXPECT_EQ(l.initrdAddr + 1 * kMiB, 48 * kMiB);
}

TEST(LinuxBoot, CommandLineTooLong) {
    SyntheticBzImage k;
    k.put32(0x238, 16);
    hw::GuestMemory mem(64 * kMiB);
    EXPECT_NO_THROW(loadLinux(mem, {k.bytes, {}, std::string(16, 'a')}));
    std::string e = errorOf(mem, {k.bytes, {}, std::string(17, 'a')});
    EXPECT_NE(e.find("at most 16"), std::string::npos) << e;
}

TEST(LinuxBoot, SetLinuxEntryStateWritesRegistersAndSegments) {
    struct Recorder final : engine::Vcpu {
        engine::Regs r{};
        engine::Sregs s{};
        engine::Exit run(std::uint64_t) override { return {}; }
        void requestStop() override {}
        engine::Regs regs() const override { return r; }
        void setRegs(const engine::Regs& v) override { r = v; }
        engine::Sregs sregs() const override { return s; }
        void setSregs(const engine::Sregs& v) override { s = v; }
        void reset() override {}
        void completeHypercall(std::uint32_t) override {}
        std::uint64_t instructionsRetired() const override { return 0; }
    } cpu;
    SyntheticBzImage k;
    hw::GuestMemory mem(64 * kMiB);
    setLinuxEntryState(cpu, loadLinux(mem, {k.bytes, {}, ""}));
    EXPECT_EQ(cpu.r.rip, 0x1000000u);
    EXPECT_EQ(cpu.r.rsi, 0x7000u);
    EXPECT_EQ(cpu.s.cs.selector, 0x10);
    EXPECT_EQ(cpu.s.cr0, 1u);
}

TEST(FirmwareRom, MappedToEndAt4GiB) {
    hw::GuestMemory mem(16 * kMiB);
    std::vector<std::uint8_t> rom(64 * 1024, 0xF4);
    rom[rom.size() - 16] = 0xEA;
    const FirmwareLayout at = loadFirmwareRom(mem, rom, "t.bin");
    EXPECT_EQ(at.base, 0x100000000ull - 64 * 1024);
    EXPECT_EQ(at.aliasBase, 0xF0000u);  // top-aligned below 1 MiB
    std::uint8_t b[1];
    mem.read(0xFFFFFFF0, b);
    EXPECT_EQ(b[0], 0xEA);
    mem.read(0xFFFF0, b);  // the same byte through the alias
    EXPECT_EQ(b[0], 0xEA);
    EXPECT_THROW(loadFirmwareRom(mem, std::vector<std::uint8_t>(100), "odd.bin"), Error);
    EXPECT_THROW(loadFirmwareRom(mem, {}, "empty.bin"), Error);
}

// The alias below 1 MiB: read-only, hiding the RAM under it, RAM around it intact; a
// ROM larger than 128 KiB shows its top 128 KiB at 0xE0000.
TEST(FirmwareRom, AliasBelowOneMegabyteIsReadOnlyAndSplitsRam) {
    hw::GuestMemory mem{4u << 20};
    std::vector<std::uint8_t> rom(256 * 1024, 0);
    for (std::size_t i = 0; i < rom.size(); ++i) rom[i] = static_cast<std::uint8_t>(i >> 12);
    const std::uint8_t under[1] = {0x77};
    mem.write(0xE0000, under);
    const FirmwareLayout at = loadFirmwareRom(mem, rom, "big.bin");
    EXPECT_EQ(at.aliasBase, 0xE0000u);
    const hw::MemoryRegion* alias = mem.regionAt(0xE0000);
    ASSERT_NE(alias, nullptr);
    EXPECT_TRUE(alias->readOnly);
    EXPECT_EQ(alias->size, 0x20000u);
    EXPECT_EQ(alias->host, mem.tryHost(0xFFFE0000u));  // the same bytes, not a copy
    std::uint8_t b[1];
    mem.read(0xE0000, b);
    EXPECT_EQ(b[0], 0x20);  // ROM page 0x20 of 0x40: the top 128 KiB
    mem.read(0xFFFFF, b);
    EXPECT_EQ(b[0], 0x3F);
    // RAM below and above is still RAM, one region each.
    const hw::MemoryRegion* low = mem.regionAt(0xDFFFF);
    const hw::MemoryRegion* high = mem.regionAt(0x100000);
    ASSERT_NE(low, nullptr);
    ASSERT_NE(high, nullptr);
    EXPECT_FALSE(low->readOnly);
    EXPECT_FALSE(high->readOnly);
    EXPECT_EQ(low->host, mem.ramBase());
    EXPECT_EQ(high->host, mem.ramBase() + 0x100000);
    EXPECT_EQ(high->gpa + high->size, mem.ramSize());
    // No region spans the alias boundary.
    EXPECT_EQ(mem.tryHost(0xDF000, 0x2000), nullptr);
    // Not a multiple of 4 KiB: a clear error, nothing mapped.
    hw::GuestMemory mem2{4u << 20};
    EXPECT_THROW(loadFirmwareRom(mem2, std::vector<std::uint8_t>(0x1010), "x.bin"), Error);
    EXPECT_EQ(mem2.regions().size(), 1u);
}

// The guest kit's kernel (Debian 686), if fetched: real header values.
TEST(LinuxBoot, KitKernelLoads) {
    const char* cache = std::getenv("CXVM_CACHE");
    std::filesystem::path p = cache ? std::filesystem::path(cache) / "kit/bzImage"
                                    : std::filesystem::path(CXVM_SOURCE_DIR) / ".cache/kit/bzImage";
    if (!std::filesystem::exists(p)) GTEST_SKIP() << "no guest kit kernel at " << p << " (./setup)";
    auto image = readFile(p);
    hw::GuestMemory mem(128 * kMiB);
    auto rd = initrdOf(2 * kMiB);
    LinuxBootLayout l = loadLinux(mem, {image, rd, "console=ttyS0"});
    EXPECT_GE(l.protocol, 0x0206);
    EXPECT_GE(l.kernelAddr, 0x100000u);
    EXPECT_LE(l.kernelEnd, l.initrdAddr);
    EXPECT_EQ(l.regs.rip, l.kernelAddr);
    EXPECT_EQ(rd32(mem, LinuxBootLayout::kBootParamsAddr + 0x202), 0x53726448u);
    // Too little RAM for this kernel is a clear error, not a crash.
    hw::GuestMemory small(8 * kMiB);
    EXPECT_THROW(loadLinux(small, {image, {}, ""}), Error);
}

}  // namespace
}  // namespace cxvm::boot
