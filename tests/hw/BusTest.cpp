#include "hw/IoBus.h"
#include "hw/MmioBus.h"
#include "util/Error.h"

#include <gtest/gtest.h>

namespace {
struct Recorder : cxvm::hw::IoDevice, cxvm::hw::MmioDevice {
    std::uint32_t lastPort = 0, lastValue = 0;
    std::uint64_t lastOffset = 0;
    std::uint32_t ioRead(std::uint16_t port, unsigned) override { return port + 1; }
    void ioWrite(std::uint16_t port, unsigned, std::uint32_t v) override {
        lastPort = port;
        lastValue = v;
    }
    std::uint64_t mmioRead(std::uint64_t off, unsigned) override { return off * 2; }
    void mmioWrite(std::uint64_t off, unsigned, std::uint64_t) override { lastOffset = off; }
    std::string_view name() const override { return "rec"; }
};
}  // namespace

TEST(IoBus, DispatchesClaimedAndFloatsUnclaimed) {
    cxvm::hw::IoBus bus;
    Recorder r;
    bus.attach(0x3f8, 8, r);
    EXPECT_EQ(bus.read(0x3f9, 1), 0x3fau);
    bus.write(0x3ff, 1, 0x41);
    EXPECT_EQ(r.lastPort, 0x3ffu);
    EXPECT_EQ(r.lastValue, 0x41u);
    EXPECT_EQ(bus.read(0x400, 1), 0xffu);
    EXPECT_EQ(bus.read(0x400, 2), 0xffffu);
    EXPECT_EQ(bus.read(0x400, 4), 0xffffffffu);
    Recorder other;
    EXPECT_THROW(bus.attach(0x3fc, 2, other), cxvm::Error);
    EXPECT_THROW(bus.attach(0xffff, 2, other), cxvm::Error);
}

TEST(MmioBus, FindsRangeByAddress) {
    cxvm::hw::MmioBus bus;
    Recorder a, b;
    bus.attach(0xfec00000, 0x1000, a);
    bus.attach(0xfee00000, 0x1000, b);
    EXPECT_EQ(bus.read(0xfec00010, 4), 0x20u);
    bus.write(0xfee00300, 4, 1);
    EXPECT_EQ(b.lastOffset, 0x300u);
    EXPECT_EQ(bus.read(0xfed00000, 4), 0xffffffffu);
    EXPECT_THROW(bus.attach(0xfec00800, 0x1000, a), cxvm::Error);
}
