#include "hw/Pit8254.h"

#include "FakeDevices.h"

#include <gtest/gtest.h>

using cxvm::hw::Pit8254;
using cxvm::hw::TimedDevice;
using cxvm::hw::test::FakeClock;
using cxvm::hw::test::IrqRecorder;

namespace {

struct PitFixture : ::testing::Test {
    FakeClock clock;
    IrqRecorder irqs;
    Pit8254 pit{clock, cxvm::hw::IrqLine(irqs, 0)};

    void atTick(std::uint64_t tick) { clock.now = Pit8254::nsAtTick(tick); }
    void advanceToTick(std::uint64_t tick) {
        atTick(tick);
        pit.advanceTo(clock.now);
    }
    void program(unsigned ch, std::uint8_t control, std::uint16_t count) {
        pit.ioWrite(0x43, 1, control);
        pit.ioWrite(0x40 + ch, 1, count & 0xFF);
        pit.ioWrite(0x40 + ch, 1, count >> 8);
    }
    std::uint16_t latchedCount(unsigned ch) {
        pit.ioWrite(0x43, 1, static_cast<std::uint8_t>(ch << 6));
        const unsigned lo = pit.ioRead(0x40 + ch, 1);
        const unsigned hi = pit.ioRead(0x40 + ch, 1);
        return static_cast<std::uint16_t>(lo | hi << 8);
    }
    bool out2() { return pit.ioRead(0x61, 1) & 0x20; }
};

TEST(Pit8254Time, TicksAndNanosecondsAgree) {
    EXPECT_EQ(Pit8254::ticksAt(1'000'000'000), 1'193'181u);  // 105/88 MHz
    EXPECT_EQ(Pit8254::ticksAt(Pit8254::nsAtTick(1193)), 1193u);
    EXPECT_EQ(Pit8254::ticksAt(Pit8254::nsAtTick(1193) - 1), 1192u);
}

TEST_F(PitFixture, Mode2RateGeneratorInterruptsEveryPeriod) {
    program(0, 0x34, 1193);  // Linux's periodic tick: channel 0, lo/hi, mode 2
    EXPECT_EQ(pit.nextDeadlineNs(), Pit8254::nsAtTick(1193));
    EXPECT_EQ(latchedCount(0), 1193);
    atTick(100);
    EXPECT_EQ(latchedCount(0), 1093);
    advanceToTick(1192);
    EXPECT_EQ(irqs.risingEdges[0], 1u) << "OUT is high from the start (no edge seen yet counted once)";
    EXPECT_FALSE(pit.output(0)) << "OUT low while the count is 1";
    advanceToTick(1193);
    EXPECT_EQ(irqs.risingEdges[0], 2u);
    EXPECT_EQ(latchedCount(0), 1193) << "reloaded";
    EXPECT_EQ(pit.nextDeadlineNs(), Pit8254::nsAtTick(2 * 1193));
    advanceToTick(5 * 1193 + 10);  // a late advance coalesces missed ticks into one edge
    EXPECT_EQ(irqs.risingEdges[0], 3u);
    EXPECT_EQ(latchedCount(0), 1193 - 10);
}

TEST_F(PitFixture, Mode0InterruptOnTerminalCount) {
    program(0, 0x30, 100);
    EXPECT_FALSE(irqs.level[0]) << "OUT low after the count is written";
    EXPECT_EQ(pit.nextDeadlineNs(), Pit8254::nsAtTick(100));
    advanceToTick(99);
    EXPECT_FALSE(irqs.level[0]);
    EXPECT_EQ(latchedCount(0), 1);
    advanceToTick(100);
    EXPECT_TRUE(irqs.level[0]);
    EXPECT_EQ(irqs.risingEdges[0], 1u);
    EXPECT_EQ(pit.nextDeadlineNs(), TimedDevice::kNever) << "one shot";
    advanceToTick(101);
    EXPECT_EQ(latchedCount(0), 0xFFFF) << "the counter wraps and keeps counting";
    EXPECT_TRUE(irqs.level[0]) << "OUT stays high";
    program(0, 0x30, 50);
    EXPECT_FALSE(irqs.level[0]) << "a new mode/count drops OUT again";
}

TEST_F(PitFixture, Mode0FirstByteStopsCounting) {
    program(0, 0x30, 1000);
    atTick(10);
    pit.ioWrite(0x40, 1, 0x20);
    atTick(500);
    EXPECT_FALSE(pit.output(0));
    EXPECT_EQ(pit.nextDeadlineNs(), TimedDevice::kNever);
    pit.ioWrite(0x40, 1, 0x00);  // count 0x0020 starts now
    EXPECT_EQ(pit.nextDeadlineNs(), Pit8254::nsAtTick(Pit8254::ticksAt(clock.now) + 0x20));
}

TEST_F(PitFixture, Channel2GateAndOutputThroughPort61LikeLinuxTscCalibration) {
    // pit_calibrate_tsc(): gate high, speaker off, channel 2 mode 0, count, poll bit 5.
    pit.ioWrite(0x61, 1, (pit.ioRead(0x61, 1) & ~0x02u) | 0x01);
    program(2, 0xB0, 11931);  // 10 ms
    EXPECT_FALSE(out2());
    atTick(11930);
    EXPECT_FALSE(out2());
    atTick(11931);
    EXPECT_TRUE(out2());
    EXPECT_EQ(pit.ioRead(0x61, 1) & 0x03, 0x01u);
    EXPECT_EQ(irqs.risingEdges[0], 0u) << "channel 2 has no interrupt";
}

TEST_F(PitFixture, GateLowPausesMode0) {
    pit.ioWrite(0x61, 1, 0x00);
    program(2, 0xB0, 1000);
    atTick(5000);
    EXPECT_EQ(latchedCount(2), 1000) << "gate low: no counting";
    pit.ioWrite(0x61, 1, 0x01);
    atTick(5100);
    EXPECT_EQ(latchedCount(2), 900);
    pit.ioWrite(0x61, 1, 0x00);
    atTick(9000);
    EXPECT_EQ(latchedCount(2), 900);
}

TEST_F(PitFixture, QuickPitCalibrateReadsTheMsbDirectly) {
    // quick_pit_calibrate(): mode 0, count 0xFFFF, then reads LSB and MSB without latching.
    pit.ioWrite(0x61, 1, 0x01);
    program(2, 0xB0, 0xFFFF);
    atTick(256 * 3 + 5);
    (void)pit.ioRead(0x42, 1);
    EXPECT_EQ(pit.ioRead(0x42, 1), 0xFFu - 3);
}

TEST_F(PitFixture, Mode3SquareWaveOnChannel2) {
    pit.ioWrite(0x61, 1, 0x01);
    program(2, 0xB6, 10);
    EXPECT_TRUE(out2());
    atTick(4);
    EXPECT_TRUE(out2());
    EXPECT_EQ(latchedCount(2), 2);
    atTick(5);
    EXPECT_FALSE(out2());
    EXPECT_EQ(latchedCount(2), 10);
    atTick(9);
    EXPECT_FALSE(out2());
    atTick(10);
    EXPECT_TRUE(out2());
    pit.ioWrite(0x61, 1, 0x00);
    atTick(15);
    EXPECT_TRUE(out2()) << "gate low forces OUT high in mode 3";
}

TEST_F(PitFixture, Mode3OnChannel0RaisesIrqOncePerPeriod) {
    program(0, 0x36, 100);
    advanceToTick(50);
    EXPECT_FALSE(irqs.level[0]);
    const unsigned edges = irqs.risingEdges[0];
    advanceToTick(100);
    EXPECT_EQ(irqs.risingEdges[0], edges + 1);
    EXPECT_EQ(pit.nextDeadlineNs(), Pit8254::nsAtTick(200));
}

TEST_F(PitFixture, Mode1HardwareOneShotTriggeredByGate) {
    pit.ioWrite(0x61, 1, 0x00);
    program(2, 0xB2, 50);
    EXPECT_TRUE(out2()) << "waits for a trigger with OUT high";
    atTick(10);
    pit.ioWrite(0x61, 1, 0x01);  // rising gate edge
    EXPECT_FALSE(out2());
    atTick(59);
    EXPECT_FALSE(out2());
    atTick(60);
    EXPECT_TRUE(out2());
    pit.ioWrite(0x61, 1, 0x00);
    pit.ioWrite(0x61, 1, 0x01);  // retrigger
    EXPECT_FALSE(out2());
}

TEST_F(PitFixture, Mode4And5StrobeLowForOneClock) {
    pit.ioWrite(0x61, 1, 0x01);
    program(2, 0xB8, 20);  // mode 4, software triggered
    atTick(19);
    EXPECT_TRUE(out2());
    atTick(20);
    EXPECT_FALSE(out2());
    atTick(21);
    EXPECT_TRUE(out2());

    pit.ioWrite(0x61, 1, 0x00);
    program(2, 0xBA, 20);  // mode 5, gate triggered
    atTick(100);
    EXPECT_TRUE(out2());
    pit.ioWrite(0x61, 1, 0x01);
    atTick(120);
    EXPECT_FALSE(out2());
    atTick(121);
    EXPECT_TRUE(out2());
}

TEST_F(PitFixture, ReadBackLatchesStatusAndCount) {
    program(0, 0x34, 1000);
    atTick(10);
    pit.ioWrite(0x43, 1, 0xC2);  // read-back: count + status of channel 0
    atTick(500);                 // latched values do not move
    EXPECT_EQ(pit.ioRead(0x40, 1), 0x80u | 0x30u | (2u << 1)) << "OUT high, lo/hi, mode 2, binary";
    EXPECT_EQ(pit.ioRead(0x40, 1), (1000u - 10) & 0xFF);
    EXPECT_EQ(pit.ioRead(0x40, 1), (1000u - 10) >> 8);
    EXPECT_EQ(latchedCount(0), 500) << "latch released after both bytes";
    pit.ioWrite(0x43, 1, 0xE2);  // status only
    EXPECT_EQ(pit.ioRead(0x40, 1) & 0x3F, 0x34u);
    pit.ioWrite(0x43, 1, 0x30);  // new mode: null count until a count is written
    pit.ioWrite(0x43, 1, 0xE2);
    EXPECT_EQ(pit.ioRead(0x40, 1) & 0x40, 0x40u);
}

TEST_F(PitFixture, SecondLatchIsIgnoredUntilRead) {
    program(1, 0x74, 1000);
    atTick(1);
    pit.ioWrite(0x43, 1, 0x40);
    atTick(300);
    pit.ioWrite(0x43, 1, 0x40);
    EXPECT_EQ(pit.ioRead(0x41, 1) | pit.ioRead(0x41, 1) << 8, 999u);
}

TEST_F(PitFixture, LsbOnlyMsbOnlyAndBcd) {
    pit.ioWrite(0x43, 1, 0x90);  // channel 2, LSB only, mode 0
    pit.ioWrite(0x61, 1, 0x01);
    pit.ioWrite(0x42, 1, 0x40);
    atTick(0x10);
    EXPECT_EQ(pit.ioRead(0x42, 1), 0x30u);
    EXPECT_EQ(pit.ioRead(0x42, 1), 0x30u) << "LSB mode has no flip-flop";
    pit.ioWrite(0x43, 1, 0xA0);  // MSB only
    pit.ioWrite(0x42, 1, 0x02);  // count 0x200
    atTick(0x10 + 0x100);
    EXPECT_EQ(pit.ioRead(0x42, 1), 0x01u);
    pit.ioWrite(0x43, 1, 0xB1);  // lo/hi, mode 0, BCD
    pit.ioWrite(0x42, 1, 0x00);
    pit.ioWrite(0x42, 1, 0x10);  // 1000 decimal
    atTick(0x110 + 1);
    EXPECT_EQ(pit.ioRead(0x42, 1), 0x99u);
    EXPECT_EQ(pit.ioRead(0x42, 1), 0x09u) << "999 in BCD";
}

TEST_F(PitFixture, CountZeroMeans65536) {
    program(0, 0x34, 0);
    EXPECT_EQ(pit.nextDeadlineNs(), Pit8254::nsAtTick(65536));
}

TEST_F(PitFixture, RefreshBitToggles) {
    clock.now = 0;
    const unsigned a = pit.ioRead(0x61, 1) & 0x10;
    clock.now = 15'085;
    const unsigned b = pit.ioRead(0x61, 1) & 0x10;
    EXPECT_NE(a, b);
}

TEST_F(PitFixture, ControlPortReadsFloat) { EXPECT_EQ(pit.ioRead(0x43, 1), 0xFFu); }

}  // namespace
