#include "hw/PciHost.h"
#include "hw/ResetControl.h"
#include "util/Error.h"

#include <gtest/gtest.h>

using cxvm::hw::PciAddress;
using cxvm::hw::PciBarKind;
using cxvm::hw::PciFunction;
using cxvm::hw::PciHost;
using cxvm::hw::PciIds;

namespace {

struct PciFixture : ::testing::Test {
    PciHost host;

    static std::uint32_t address(unsigned bus, unsigned dev, unsigned fn, unsigned reg) {
        return 0x8000'0000u | bus << 16 | dev << 11 | fn << 8 | (reg & 0xFC);
    }
    std::uint32_t read(unsigned dev, unsigned reg, unsigned size = 4, unsigned fn = 0) {
        host.ioWrite(0xCF8, 4, address(0, dev, fn, reg));
        return host.ioRead(static_cast<std::uint16_t>(0xCFC + (reg & 3)), size);
    }
    void write(unsigned dev, unsigned reg, std::uint32_t v, unsigned size = 4) {
        host.ioWrite(0xCF8, 4, address(0, dev, 0, reg));
        host.ioWrite(static_cast<std::uint16_t>(0xCFC + (reg & 3)), size, v);
    }
};

TEST_F(PciFixture, HostBridgeIs440fx) {
    EXPECT_EQ(read(0, 0x00), 0x1237'8086u);
    EXPECT_EQ(read(0, 0x08) >> 8, 0x060000u) << "class: host bridge";
    EXPECT_EQ(read(0, 0x08) & 0xFF, 0x02u);
    EXPECT_EQ(read(0, 0x0E, 1), 0x00u) << "header type 0, single function";
}

TEST_F(PciFixture, ByteAndWordAccessesAtDataPortOffsets) {
    EXPECT_EQ(read(0, 0x02, 2), 0x1237u);
    EXPECT_EQ(read(0, 0x03, 1), 0x12u);
    EXPECT_EQ(read(0, 0x01, 1), 0x80u);
    EXPECT_EQ(read(0, 0x00, 2), 0x8086u);
    host.ioWrite(0xCF8, 4, address(0, 0, 0, 0));
    EXPECT_EQ(host.ioRead(0xCFF, 2), 0xFFFFu) << "a word at 0xCFF would straddle the dword";
}

TEST_F(PciFixture, UnclaimedAndDisabledAccessesReadAllOnes) {
    EXPECT_EQ(read(5, 0x00), 0xFFFF'FFFFu);
    EXPECT_EQ(read(5, 0x00, 2), 0xFFFFu) << "vendor 0xFFFF: no device";
    EXPECT_EQ(read(0, 0x00, 4, 1), 0xFFFF'FFFFu) << "function 1 of the bridge";
    host.ioWrite(0xCF8, 4, 0x0000'0000u);  // enable bit clear
    EXPECT_EQ(host.ioRead(0xCFC, 4), 0xFFFF'FFFFu);
    host.ioWrite(0xCF8, 4, address(1, 0, 0, 0));
    EXPECT_EQ(host.ioRead(0xCFC, 4), 0xFFFF'FFFFu) << "bus 1 does not exist";
    write(5, 0x04, 0x7);  // ignored without a crash
}

TEST_F(PciFixture, ConfigAddressRegisterKeepsOnlyDefinedBits) {
    host.ioWrite(0xCF8, 4, 0xFFFF'FFFFu);
    EXPECT_EQ(host.ioRead(0xCF8, 4), 0x80FF'FFFCu);
    EXPECT_EQ(host.ioRead(0xCF8, 1), 0xFFu) << "narrow reads are not the address register";
}

TEST_F(PciFixture, ReadOnlyIdsAndWritableCommand) {
    write(0, 0x00, 0);
    EXPECT_EQ(read(0, 0x00), 0x1237'8086u);
    write(0, 0x04, 0xFFFF, 2);
    EXPECT_EQ(read(0, 0x04, 2), 0x0547u);
    write(0, 0x3C, 0x0B, 1);
    EXPECT_EQ(read(0, 0x3C, 1), 0x0Bu);
}

struct TestDevice : PciFunction {
    TestDevice() : PciFunction("test", PciIds{.vendor = 0x1AF4, .device = 0x1041, .classCode = 0x020000,
                                              .revision = 1, .subsystemVendor = 0x1AF4, .subsystem = 1,
                                              .interruptPin = 1}) {
        defineBar(0, PciBarKind::Io, 32);
        defineBar(1, PciBarKind::Memory32, 4096);
        defineBar(2, PciBarKind::Memory64Prefetchable, 1 << 20);
    }
    void setStatusBits(std::uint16_t bits) { setConfig16(kStatus, bits); }
};

TEST_F(PciFixture, BarSizingAndProgramming) {
    TestDevice dev;
    int decodeChanges = 0;
    dev.onDecodeChanged = [&](PciFunction&) { ++decodeChanges; };
    host.addFunction(PciAddress{0, 3, 0}, dev);
    EXPECT_EQ(read(3, 0x00), 0x1041'1AF4u);
    EXPECT_EQ(read(3, 0x2C), 0x0001'1AF4u);
    EXPECT_EQ(read(3, 0x3D, 1), 1u);
    EXPECT_EQ(read(3, 0x3C, 1), 0xFFu) << "not routed yet";
    dev.setInterruptLine(11);
    EXPECT_EQ(read(3, 0x3C, 1), 11u);
    EXPECT_EQ(dev.interruptLine(), 11u);
    EXPECT_EQ(read(3, 0x10), 0x1u) << "I/O BAR type bit";
    EXPECT_EQ(read(3, 0x18), 0xCu) << "64-bit prefetchable memory";

    for (unsigned reg = 0x10; reg <= 0x24; reg += 4) write(3, reg, 0xFFFF'FFFF);
    EXPECT_EQ(read(3, 0x10), 0xFFFF'FFE1u) << "32 bytes of I/O";
    EXPECT_EQ(read(3, 0x14), 0xFFFF'F000u) << "4 KiB of memory";
    EXPECT_EQ(read(3, 0x18), 0xFFF0'000Cu) << "1 MiB, 64-bit prefetchable";
    EXPECT_EQ(read(3, 0x1C), 0xFFFF'FFFFu) << "upper half";
    EXPECT_EQ(read(3, 0x20), 0u) << "unimplemented BARs read 0";
    EXPECT_EQ(read(3, 0x30), 0u) << "no expansion ROM";
    EXPECT_FALSE(dev.barAddress(1).has_value()) << "sizing pattern, decode off";

    write(3, 0x10, 0xC000);
    write(3, 0x14, 0xFEBF'1000);
    write(3, 0x18, 0xFE00'0000);
    write(3, 0x1C, 0x1);
    EXPECT_FALSE(dev.barAddress(0).has_value()) << "decoding disabled in the command register";
    const int before = decodeChanges;
    write(3, 0x04, 0x3, 2);
    EXPECT_EQ(decodeChanges, before + 1);
    EXPECT_EQ(dev.barAddress(0), 0xC000u);
    EXPECT_EQ(dev.barAddress(1), 0xFEBF'1000u);
    EXPECT_EQ(dev.barAddress(2), 0x1'FE00'0000u);
    EXPECT_FALSE(dev.barAddress(3).has_value());
    EXPECT_EQ(dev.barSize(2), 1u << 20);
    write(3, 0x04, 0x3, 2);
    EXPECT_EQ(decodeChanges, before + 1) << "no change, no callback";
}

TEST_F(PciFixture, StatusErrorBitsAreWriteOneToClear) {
    TestDevice dev;
    dev.setStatusBits(0x8110);
    host.addFunction(PciAddress{0, 4, 0}, dev);
    write(4, 0x06, 0x8000, 2);
    EXPECT_EQ(read(4, 0x06, 2), 0x0110u);
    write(4, 0x06, 0xFFFF, 2);
    EXPECT_EQ(read(4, 0x06, 2), 0x0010u) << "capabilities bit is read-only";
}

TEST_F(PciFixture, RegistrationErrorsAndFreeSlots) {
    TestDevice a, b;
    EXPECT_EQ(host.freeSlot(), 1);
    host.addFunction(PciAddress{0, 1, 0}, a);
    EXPECT_EQ(host.freeSlot(), 2);
    EXPECT_THROW(host.addFunction(PciAddress{0, 1, 0}, b), cxvm::Error);
    EXPECT_THROW(host.addFunction(PciAddress{0, 32, 0}, b), cxvm::Error);
    EXPECT_THROW(host.addFunction(PciAddress{0, 2, 8}, b), cxvm::Error);
    EXPECT_EQ(host.functionAt(PciAddress{0, 1, 0}), &a);
    EXPECT_EQ(host.functionAt(PciAddress{0, 0, 0}), &host.hostBridge());
}

TEST_F(PciFixture, CapabilityListIsLinkedFrom0x34) {
    TestDevice dev;
    host.addFunction(PciAddress{0, 6, 0}, dev);
    EXPECT_EQ(read(6, 0x06, 2) & 0x10, 0u) << "no capabilities yet";
    const std::uint8_t vendorBody[] = {14, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};  // len, then data
    const std::uint8_t msixBody[] = {0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00};
    const std::uint8_t msixWritable[] = {0x00, 0xC0, 0, 0, 0, 0, 0, 0, 0, 0};  // MSI-X enable + function mask
    const unsigned first = dev.addCapability(0x09, vendorBody);
    const unsigned second = dev.addCapability(0x11, msixBody, msixWritable);
    EXPECT_EQ(first, 0x40u);
    EXPECT_EQ(second, 0x50u) << "dword aligned after 16 bytes";
    EXPECT_EQ(read(6, 0x06, 2) & 0x10, 0x10u);
    EXPECT_EQ(read(6, 0x34, 1), 0x40u);
    EXPECT_EQ(read(6, 0x40, 2), 0x5009u) << "ID 9, next 0x50";
    EXPECT_EQ(read(6, 0x50, 2), 0x0011u) << "ID 0x11, end of list";
    EXPECT_EQ(read(6, 0x42, 1), 14u);
    write(6, 0x52, 0xFFFF, 2);
    EXPECT_EQ(read(6, 0x52, 2), 0xC003u) << "only the writable bits changed";
    const std::uint8_t big[200] = {};
    EXPECT_THROW(dev.addCapability(0x09, big), cxvm::Error);
    EXPECT_THROW(dev.addCapability(0x09, vendorBody, msixWritable), cxvm::Error) << "mask length";
}

TEST(PciFunction, BadBarLayoutsThrow) {
    struct Dev : PciFunction {
        Dev() : PciFunction("bad", PciIds{}) {}
        using PciFunction::defineBar;
    } d;
    EXPECT_THROW(d.defineBar(0, PciBarKind::Memory32, 1000), cxvm::Error) << "not a power of two";
    EXPECT_THROW(d.defineBar(0, PciBarKind::Io, 512), cxvm::Error);
    EXPECT_THROW(d.defineBar(5, PciBarKind::Memory64, 4096), cxvm::Error) << "needs two slots";
    EXPECT_THROW(d.defineBar(6, PciBarKind::Io, 16), cxvm::Error);
    d.defineBar(0, PciBarKind::Memory64, 4096);
    EXPECT_THROW(d.defineBar(1, PciBarKind::Io, 16), cxvm::Error) << "upper half of BAR 0";
}

TEST_F(PciFixture, NarrowAccessesAtCf9ReachResetControl) {
    int resets = 0;
    bool lastHard = false;
    cxvm::hw::ResetControl rc{[&](bool hard) {
        ++resets;
        lastHard = hard;
    }};
    host.setNarrowCf8Handler(rc);
    host.ioWrite(0xCF9, 1, 0x02);  // Linux reboot=pci: SRST first ...
    EXPECT_EQ(resets, 0);
    EXPECT_EQ(host.ioRead(0xCF9, 1), 0x02u);
    host.ioWrite(0xCF9, 1, 0x06);  // ... then RCPU
    EXPECT_EQ(resets, 1);
    EXPECT_TRUE(lastHard);
    EXPECT_EQ(host.ioRead(0xCF9, 1), 0x02u) << "RCPU is a trigger and reads 0";
    host.ioWrite(0xCF8, 4, address(0, 0, 0, 0));
    EXPECT_EQ(host.ioRead(0xCFC, 4), 0x1237'8086u) << "dword 0xCF8 is still the address register";
}

}  // namespace
