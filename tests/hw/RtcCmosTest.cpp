#include "hw/CivilTime.h"
#include "hw/RtcCmos.h"

#include "FakeDevices.h"

#include <gtest/gtest.h>

using cxvm::hw::RtcCmos;
using cxvm::hw::TimedDevice;
using cxvm::hw::test::FakeClock;
using cxvm::hw::test::IrqRecorder;

namespace {

constexpr std::int64_t kLeapDayEvening = 1709251198;  // 2024-02-29 23:59:58 UTC, a Thursday
constexpr std::uint64_t kSecond = 1'000'000'000;

struct RtcFixture : ::testing::Test {
    FakeClock clock;
    IrqRecorder irqs;
    RtcCmos rtc{clock, cxvm::hw::IrqLine(irqs, 8), RtcCmos::Config{kLeapDayEvening, 128ull << 20, 1}};

    unsigned reg(unsigned index) {
        rtc.ioWrite(0x70, 1, index);
        return rtc.ioRead(0x71, 1);
    }
    void setReg(unsigned index, unsigned value) {
        rtc.ioWrite(0x70, 1, index);
        rtc.ioWrite(0x71, 1, value);
    }
    void at(std::uint64_t ns) {
        clock.now = ns;
        rtc.advanceTo(ns);
    }
};

TEST_F(RtcFixture, ReadsTheStartTimeInBcd24Hour) {
    EXPECT_EQ(reg(0), 0x58u);
    EXPECT_EQ(reg(2), 0x59u);
    EXPECT_EQ(reg(4), 0x23u);
    EXPECT_EQ(reg(6), 5u) << "Thursday (Sunday = 1)";
    EXPECT_EQ(reg(7), 0x29u);
    EXPECT_EQ(reg(8), 0x02u);
    EXPECT_EQ(reg(9), 0x24u);
    EXPECT_EQ(reg(RtcCmos::kCenturyIndex), 0x20u);
    EXPECT_EQ(reg(0x0A), 0x26u);
    EXPECT_EQ(reg(0x0B), 0x02u);
    EXPECT_EQ(reg(0x0D), 0x80u) << "valid RAM and time";
}

TEST_F(RtcFixture, AdvancesWithTheClockAcrossTheLeapDay) {
    clock.now = 2 * kSecond;
    EXPECT_EQ(reg(0), 0x00u);
    EXPECT_EQ(reg(4), 0x00u);
    EXPECT_EQ(reg(7), 0x01u);
    EXPECT_EQ(reg(8), 0x03u);
    EXPECT_EQ(reg(6), 6u);
    EXPECT_EQ(rtc.unixTime(clock.now), kLeapDayEvening + 2);
}

TEST_F(RtcFixture, BinaryAnd12HourFormats) {
    setReg(0x0B, 0x00);  // BCD, 12 h
    EXPECT_EQ(reg(4), 0x91u) << "11 PM";
    setReg(0x0B, 0x04);  // binary, 12 h
    EXPECT_EQ(reg(4), 0x8Bu);
    EXPECT_EQ(reg(0), 58u);
    setReg(0x0B, 0x06);  // binary, 24 h
    EXPECT_EQ(reg(4), 23u);
    EXPECT_EQ(reg(9), 24u);
}

TEST_F(RtcFixture, UpdateInProgressWindowPrecedesTheSecondChange) {
    const std::uint64_t uip = 244'000 + 1'984'000;
    clock.now = kSecond - uip - 1;
    EXPECT_EQ(reg(0x0A) & 0x80, 0u);
    clock.now = kSecond - uip;
    EXPECT_EQ(reg(0x0A) & 0x80, 0x80u);
    clock.now = kSecond - 1;
    EXPECT_EQ(reg(0x0A) & 0x80, 0x80u);
    EXPECT_EQ(reg(0), 0x58u) << "the registers change when the update completes";
    clock.now = kSecond;
    EXPECT_EQ(reg(0x0A) & 0x80, 0u);
    EXPECT_EQ(reg(0), 0x59u);
}

TEST_F(RtcFixture, UpdateEndedInterruptAndRegisterCReadClears) {
    setReg(0x0A, 0x20);  // periodic rate off, so PF stays out of register C
    setReg(0x0B, 0x12);  // UIE, 24 h, BCD
    EXPECT_EQ(rtc.nextDeadlineNs(), kSecond);
    at(kSecond - 1);
    EXPECT_FALSE(irqs.level[8]);
    at(kSecond);
    EXPECT_TRUE(irqs.level[8]);
    EXPECT_EQ(rtc.nextDeadlineNs(), TimedDevice::kNever) << "asserted until register C is read";
    EXPECT_EQ(reg(0x0C), 0x90u) << "IRQF | UF";
    EXPECT_FALSE(irqs.level[8]);
    EXPECT_EQ(reg(0x0C), 0x00u);
    EXPECT_EQ(rtc.nextDeadlineNs(), 2 * kSecond);
}

TEST_F(RtcFixture, FlagsWithoutEnablesSetNoIrqf) {
    clock.now = 3 * kSecond;
    EXPECT_EQ(reg(0x0C), 0x70u) << "PF (1024 Hz), AF (alarm 00:00:00 passed), UF; no IRQF";
    EXPECT_FALSE(irqs.level[8]);
    EXPECT_EQ(rtc.nextDeadlineNs(), TimedDevice::kNever);
}

TEST_F(RtcFixture, PeriodicInterruptAtTheProgrammedRate) {
    setReg(0x0B, 0x42);  // PIE
    EXPECT_EQ(rtc.nextDeadlineNs(), 976'563u) << "1024 Hz, rounded up";
    at(976'562);
    EXPECT_FALSE(irqs.level[8]);
    at(976'563);
    EXPECT_TRUE(irqs.level[8]);
    EXPECT_EQ(reg(0x0C), 0xC0u);
    setReg(0x0A, 0x2F);  // 2 Hz
    EXPECT_EQ(rtc.nextDeadlineNs(), kSecond / 2);
    setReg(0x0A, 0x23);  // 8192 Hz
    EXPECT_EQ(rtc.nextDeadlineNs(), 1'098'633u);
    setReg(0x0A, 0x20);  // off
    EXPECT_EQ(rtc.nextDeadlineNs(), TimedDevice::kNever);
}

TEST_F(RtcFixture, AlarmMatchesAtTheAlarmTime) {
    setReg(1, 0x00);
    setReg(3, 0x00);
    setReg(5, 0x00);  // 00:00:00, two seconds after start
    setReg(0x0A, 0x20);
    setReg(0x0B, 0x22);  // AIE
    at(kSecond);
    EXPECT_FALSE(irqs.level[8]) << "23:59:59 does not match";
    EXPECT_EQ(rtc.nextDeadlineNs(), 2 * kSecond);
    at(2 * kSecond);
    EXPECT_TRUE(irqs.level[8]);
    EXPECT_EQ(reg(0x0C), 0xB0u) << "IRQF | AF | UF";
}

TEST_F(RtcFixture, AlarmDontCareMatchesEverySecond) {
    setReg(1, 0xC0);
    setReg(3, 0xFF);
    setReg(5, 0xC5);
    setReg(0x0A, 0x20);
    setReg(0x0B, 0x22);
    at(kSecond);
    EXPECT_TRUE(irqs.level[8]);
    EXPECT_EQ(reg(0x0C), 0xB0u);
    at(5 * kSecond + 7);
    EXPECT_EQ(reg(0x0C), 0xB0u);
}

TEST_F(RtcFixture, SetBitFreezesAndTheGuestSetsTheTime) {
    setReg(0x0B, 0x82);  // SET
    setReg(9, 0x00);
    setReg(8, 0x01);
    setReg(7, 0x01);
    setReg(4, 0x00);
    setReg(2, 0x00);
    setReg(0, 0x00);
    setReg(RtcCmos::kCenturyIndex, 0x20);
    clock.now = 5 * kSecond;
    EXPECT_EQ(reg(0), 0x00u) << "no updates while SET";
    EXPECT_EQ(reg(0x0A) & 0x80, 0u);
    setReg(0x0B, 0x02);
    EXPECT_EQ(rtc.unixTime(clock.now), 946684800);
    clock.now += kSecond;
    EXPECT_EQ(reg(0), 0x01u);
    EXPECT_EQ(reg(9), 0x00u);
}

TEST_F(RtcFixture, SetBitClearsUie) {
    setReg(0x0B, 0x92);
    EXPECT_EQ(reg(0x0B), 0x82u);
}

TEST_F(RtcFixture, WritingTheTimeWhileRunningContinuesFromIt) {
    clock.now = kSecond / 2;
    setReg(0, 0x10);
    clock.now = kSecond;
    EXPECT_EQ(reg(0), 0x11u) << "the second boundary keeps its phase";
    EXPECT_EQ(reg(2), 0x59u);
}

TEST_F(RtcFixture, DividerResetHoldsTimeAndRestartsHalfASecondLater) {
    clock.now = kSecond / 4;
    setReg(0x0A, 0x76);  // divider reset
    clock.now = 10 * kSecond;
    EXPECT_EQ(reg(0), 0x58u);
    setReg(0x0A, 0x26);
    clock.now += kSecond / 2 - 1;
    EXPECT_EQ(reg(0), 0x58u);
    clock.now += 1;
    EXPECT_EQ(reg(0), 0x59u);
}

TEST_F(RtcFixture, NmiMaskBitIsSeparateFromTheIndex) {
    EXPECT_FALSE(rtc.nmiMasked());
    rtc.ioWrite(0x70, 1, 0x80 | 0x0D);
    EXPECT_TRUE(rtc.nmiMasked());
    EXPECT_EQ(rtc.ioRead(0x71, 1), 0x80u) << "register D";
    rtc.ioWrite(0x70, 1, 0x0D);
    EXPECT_FALSE(rtc.nmiMasked());
}

TEST_F(RtcFixture, CmosRamAndReadOnlyRegisters) {
    setReg(0x40, 0x5A);
    EXPECT_EQ(reg(0x40), 0x5Au);
    setReg(0x0D, 0x00);
    EXPECT_EQ(reg(0x0D), 0x80u);
}

TEST_F(RtcFixture, MemorySizeBytesFor128MiB) {
    EXPECT_EQ(rtc.cmos(0x15) | rtc.cmos(0x16) << 8, 640);
    EXPECT_EQ(rtc.cmos(0x17) | rtc.cmos(0x18) << 8, 0xFFFF) << "127 MiB of KiB saturates";
    EXPECT_EQ(rtc.cmos(0x30) | rtc.cmos(0x31) << 8, 0xFFFF);
    EXPECT_EQ(rtc.cmos(0x34) | rtc.cmos(0x35) << 8, (128 - 16) * 16);
    EXPECT_EQ(rtc.cmos(0x5B) | rtc.cmos(0x5C) << 8 | rtc.cmos(0x5D) << 16, 0);
    EXPECT_EQ(rtc.cmos(0x5F), 0);
}

TEST(RtcCmosMemory, SmallRam) {
    FakeClock clock;
    RtcCmos rtc{clock, {}, RtcCmos::Config{0, 8ull << 20, 2}};
    EXPECT_EQ(rtc.cmos(0x17) | rtc.cmos(0x18) << 8, 7 * 1024);
    EXPECT_EQ(rtc.cmos(0x34) | rtc.cmos(0x35) << 8, 0);
    EXPECT_EQ(rtc.cmos(0x5F), 1);
}

TEST(CivilTime, RoundTripsAndKnownDates) {
    using cxvm::hw::civilFromUnix;
    using cxvm::hw::unixFromCivil;
    for (std::int64_t t : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{946684800}, kLeapDayEvening,
                           std::int64_t{4102401600}, std::int64_t{951782400}})
        EXPECT_EQ(unixFromCivil(civilFromUnix(t)), t) << t;
    const auto y2k = civilFromUnix(946684800);
    EXPECT_EQ(y2k.year, 2000);
    EXPECT_EQ(y2k.month, 1u);
    EXPECT_EQ(y2k.day, 1u);
    EXPECT_EQ(y2k.weekday, 7u) << "Saturday";
    const auto before = civilFromUnix(-1);
    EXPECT_EQ(before.year, 1969);
    EXPECT_EQ(before.second, 59u);
}

}  // namespace
