#include "hw/I8042.h"

#include "FakeDevices.h"

#include <gtest/gtest.h>

using cxvm::hw::I8042;
using cxvm::hw::test::IrqRecorder;

namespace {

struct I8042Fixture : ::testing::Test {
    IrqRecorder irqs;
    int resets = 0;
    I8042 kbc{cxvm::hw::IrqLine(irqs, 1), cxvm::hw::IrqLine(irqs, 12), [this] { ++resets; }};

    unsigned status() { return kbc.ioRead(0x64, 1); }
    unsigned data() { return kbc.ioRead(0x60, 1); }
    void command(unsigned c) { kbc.ioWrite(0x64, 1, c); }
    void write(unsigned v) { kbc.ioWrite(0x60, 1, v); }
};

TEST_F(I8042Fixture, IdleStatus) {
    EXPECT_EQ(status() & 0x01, 0u) << "output buffer empty";
    EXPECT_EQ(status() & 0x02, 0u) << "input buffer never busy";
}

TEST_F(I8042Fixture, ControllerSelfTestAndInterfaceTests) {
    command(0xAA);
    EXPECT_EQ(status() & 0x01, 0x01u);
    EXPECT_EQ(status() & 0x04, 0x04u) << "system flag";
    EXPECT_EQ(status() & 0x08, 0x08u) << "last write was a command";
    EXPECT_EQ(data(), 0x55u);
    EXPECT_EQ(status() & 0x01, 0u);
    command(0xAB);
    EXPECT_EQ(data(), 0x00u);
    command(0xA9);
    EXPECT_EQ(data(), 0x00u);
}

TEST_F(I8042Fixture, CommandByteReadWrite) {
    command(0x20);
    EXPECT_EQ(data(), 0x65u);
    command(0x60);
    write(0x47);
    EXPECT_EQ(kbc.commandByte(), 0x47u);
    command(0x20);
    EXPECT_EQ(data(), 0x47u);
    command(0xA7);
    command(0xAD);
    EXPECT_EQ(kbc.commandByte(), 0x47u | 0x20 | 0x10);
    command(0xA8);
    command(0xAE);
    EXPECT_EQ(kbc.commandByte(), 0x47u);
}

TEST_F(I8042Fixture, ControllerRepliesRaiseIrq1WhenEnabled) {
    command(0x60);
    write(0x01);  // KBDINT only
    command(0xAA);
    EXPECT_TRUE(irqs.level[1]);
    EXPECT_EQ(data(), 0x55u);
    EXPECT_FALSE(irqs.level[1]);
    command(0x60);
    write(0x00);
    command(0xAA);
    EXPECT_FALSE(irqs.level[1]);
    EXPECT_EQ(data(), 0x55u);
}

TEST_F(I8042Fixture, AbsentKeyboardAnswersTimeout) {
    command(0x60);
    write(0x03);
    write(0xF2);  // keyboard "get ID"
    EXPECT_EQ(status() & 0x41, 0x41u) << "output full + time-out";
    EXPECT_EQ(status() & 0x20, 0u);
    EXPECT_TRUE(irqs.level[1]);
    EXPECT_EQ(data(), 0xFEu);
    EXPECT_EQ(status() & 0x40, 0u);
}

TEST_F(I8042Fixture, AbsentMouseAnswersTimeoutOnAuxChannel) {
    command(0x60);
    write(0x03);
    command(0xD4);
    write(0xFF);  // mouse reset
    EXPECT_EQ(status() & 0x61, 0x61u) << "output full, aux data, time-out";
    EXPECT_TRUE(irqs.level[12]);
    EXPECT_FALSE(irqs.level[1]);
    EXPECT_EQ(data(), 0xFEu);
    EXPECT_FALSE(irqs.level[12]);
}

TEST_F(I8042Fixture, AuxLoopbackAsLinuxChecksTheAuxPort) {
    command(0x60);
    write(0x02);  // AUXINT
    command(0xD3);
    write(0x5A);
    EXPECT_EQ(status() & 0x21, 0x21u);
    EXPECT_TRUE(irqs.level[12]);
    EXPECT_EQ(data(), 0x5Au);
    command(0xD2);
    write(0x33);
    EXPECT_EQ(status() & 0x21, 0x01u) << "keyboard channel";
    EXPECT_EQ(data(), 0x33u);
}

TEST_F(I8042Fixture, QueuedBytesEachMakeAnEdge) {
    command(0x60);
    write(0x01);
    command(0xAA);
    command(0xAB);
    EXPECT_EQ(irqs.risingEdges[1], 1u);
    EXPECT_EQ(data(), 0x55u);
    EXPECT_EQ(irqs.risingEdges[1], 2u);
    EXPECT_EQ(data(), 0x00u);
    EXPECT_FALSE(irqs.level[1]);
    EXPECT_EQ(data(), 0x00u) << "an empty buffer repeats the last byte";
}

TEST_F(I8042Fixture, ResetByPulseCommandAndOutputPort) {
    command(0xFF);
    EXPECT_EQ(resets, 0) << "0xFF pulses no line";
    command(0xFE);
    EXPECT_EQ(resets, 1);
    command(0xD0);
    EXPECT_EQ(data() & 0x01, 0x01u);
    command(0xD1);
    write(0xDF);  // A20 on, reset line active? bit 0 = 1: no reset
    EXPECT_EQ(resets, 1);
    command(0xD1);
    write(0xDE);
    EXPECT_EQ(resets, 2);
    EXPECT_EQ(kbc.outputPort() & 0x02, 0x02u);
}

}  // namespace
