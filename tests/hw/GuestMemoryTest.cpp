#include "hw/GuestMemory.h"
#include "util/Error.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <array>

using cxvm::hw::GuestMemory;

TEST(GuestMemory, RamIsZeroedAndBounded) {
    GuestMemory m(1 << 20);
    EXPECT_EQ(m.ramSize(), 1u << 20);
    EXPECT_EQ(m.tryHost(0)[0], 0);
    EXPECT_NE(m.tryHost((1 << 20) - 4, 4), nullptr);
    EXPECT_EQ(m.tryHost((1 << 20) - 3, 4), nullptr);  // straddles the end
    EXPECT_EQ(m.tryHost(1 << 20), nullptr);
    EXPECT_THROW((void)m.span((1 << 20) - 1, 2), cxvm::Error);
    EXPECT_THROW((void)m.span(~0ULL, 2), cxvm::Error);  // wrap-around
}

TEST(GuestMemory, ReadWriteRoundTrip) {
    GuestMemory m(64 * 1024);
    std::array<std::uint8_t, 3> in{1, 2, 3}, out{};
    m.write(0x100, in);
    m.read(0x100, out);
    EXPECT_EQ(in, out);
}

TEST(GuestMemory, RomIsReadOnlyRegionAboveRam) {
    GuestMemory m(64 * 1024);
    std::array<std::uint8_t, 16> rom{0xEA};
    m.addRom(0xFFFF0000, rom, "bios");
    const auto* r = m.regionAt(0xFFFF0000);
    ASSERT_NE(r, nullptr);
    EXPECT_TRUE(r->readOnly);
    EXPECT_EQ(m.tryHost(0xFFFF0000)[0], 0xEA);
    EXPECT_THROW(m.addRom(0x1000, rom, "overlap"), cxvm::Error);
}

TEST(GuestMemory, OverlayMakesGuestPagesBeTheDataport) {
    GuestMemory m(1 << 20);
    int fd = memfd_create("dp", 0);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(ftruncate(fd, 8192), 0);
    auto gen = m.generation();
    m.overlay(0x10000, fd, 8192, "dp");
    EXPECT_NE(m.generation(), gen);
    void* other = mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ASSERT_NE(other, MAP_FAILED);
    static_cast<std::uint8_t*>(other)[4097] = 0x5A;
    EXPECT_EQ(m.tryHost(0x10000 + 4097)[0], 0x5A);
    EXPECT_THROW(m.overlay(0x10001, fd, 4096, "dp"), cxvm::Error);
    EXPECT_THROW(m.overlay((1 << 20) - 4096, fd, 8192, "dp"), cxvm::Error);
    munmap(other, 8192);
    close(fd);
}

// Device regions (a passed-through BAR's mapping, docs/passthrough.md "Mapped BARs"): in
// regions() for the kvm engine's memory slots, invisible to regionAt/tryHost/span (the
// interp's TLB, emulated devices' DMA, loaders), clear of every other region.
TEST(GuestMemory, DeviceRegionsAreSlotsButNotMemory) {
    GuestMemory m(1 << 20);
    void* p = ::mmap(nullptr, 0x2000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(p, MAP_FAILED);
    const std::span<std::uint8_t> bar(static_cast<std::uint8_t*>(p), 0x2000);
    const auto gen = m.generation();
    m.addDeviceRegion(0xfebc0000, bar, "bar");
    EXPECT_GT(m.generation(), gen);
    ASSERT_EQ(m.regions().size(), 2u);
    EXPECT_TRUE(m.regions().back().device);
    EXPECT_EQ(m.regions().back().host, bar.data());
    EXPECT_EQ(m.regionAt(0xfebc0000), nullptr);
    EXPECT_EQ(m.tryHost(0xfebc1000, 4), nullptr);
    EXPECT_THROW((void)m.span(0xfebc0000, 4), cxvm::Error);
    EXPECT_THROW(m.addDeviceRegion(0xfebc1000, bar, "overlap"), cxvm::Error);
    EXPECT_THROW(m.addDeviceRegion(0x80000, bar, "over RAM"), cxvm::Error);
    EXPECT_THROW(m.addDeviceRegion(0xfec00800, bar, "unaligned"), cxvm::Error);
    EXPECT_THROW(m.addDeviceRegion(0xfec00000, bar.first(0x800), "partial page"), cxvm::Error);
    const std::array<std::uint8_t, 4> rom{};
    EXPECT_THROW(m.addRom(0xfebc1000, rom, "rom over it"), cxvm::Error);
    const auto before = m.generation();
    m.removeDeviceRegion(0xfebc0000);
    EXPECT_GT(m.generation(), before);
    EXPECT_EQ(m.regions().size(), 1u);
    m.removeDeviceRegion(0xfebc0000);  // gone: no-op
    EXPECT_EQ(m.generation(), before + 1);
    ::munmap(p, 0x2000);
}
