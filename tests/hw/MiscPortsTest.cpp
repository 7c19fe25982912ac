#include "hw/DebugExit.h"
#include "hw/IoBus.h"
#include "hw/Port80.h"

#include <gtest/gtest.h>

#include <vector>

using namespace cxvm::hw;

TEST(DebugExit, StatusFollowsQemuIsaDebugExit) {
    std::vector<DebugExit::Request> requests;
    DebugExit dev([&](const DebugExit::Request& r) { requests.push_back(r); });
    IoBus bus;
    dev.attach(bus);
    bus.write(0x501, 1, 0x31);
    bus.write(0x501, 4, 0);
    ASSERT_EQ(requests.size(), 2u);
    EXPECT_EQ(requests[0].value, 0x31u);
    EXPECT_EQ(requests[0].status, 99);
    EXPECT_EQ(requests[1].status, 1);
    EXPECT_EQ(DebugExit::statusFor(0x7F), 255);
    EXPECT_EQ(DebugExit::statusFor(0x80), 1) << "truncated to the 8-bit exit status";
}

TEST(DebugExit, OtherPort) {
    int calls = 0;
    DebugExit dev([&](const DebugExit::Request&) { ++calls; });
    IoBus bus;
    dev.attach(bus, 0xF4);
    bus.write(0xF4, 1, 0);
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(bus.read(0xF4, 1), 0xFFu);
}

TEST(Port80, RecordsPostCodes) {
    std::vector<std::uint8_t> codes;
    Port80 port([&](std::uint8_t c) { codes.push_back(c); });
    IoBus bus;
    port.attach(bus);
    bus.write(0x80, 1, 0x12);
    bus.write(0x80, 1, 0x34);
    EXPECT_EQ(port.lastCode(), 0x34u);
    EXPECT_EQ(bus.read(0x80, 1), 0x34u);
    EXPECT_EQ(codes, (std::vector<std::uint8_t>{0x12, 0x34}));
    Port80 silent;
    silent.ioWrite(0x80, 1, 1);  // no observer: no call
    EXPECT_EQ(silent.lastCode(), 1u);
}
