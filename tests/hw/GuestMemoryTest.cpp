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
