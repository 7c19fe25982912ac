// Devices and the PIC together, driven the way Linux drives them: the timer tick from
// PIT channel 0, the interrupt-driven 8250 transmit loop and the RTC update interrupt
// through the cascade. These catch wiring mistakes the per-device tests cannot (a line
// left high so the edge-triggered PIC never sees another request).
#include "hw/Pic8259.h"
#include "hw/Pit8254.h"
#include "hw/RtcCmos.h"
#include "hw/Uart16550.h"

#include "FakeDevices.h"

#include <gtest/gtest.h>

#include <string>

using namespace cxvm::hw;
using cxvm::hw::test::FakeClock;

namespace {

struct Platform : ::testing::Test {
    FakeClock clock;
    CpuInterruptPins pins;
    Pic8259Pair pic{pins};
    Pit8254 pit{clock, pic.line(0)};
    std::string console;
    Uart16550 com1{"com1", clock, pic.line(4),
                   [this](std::span<const std::uint8_t> b) { console.append(b.begin(), b.end()); }};
    RtcCmos rtc{clock, pic.line(8), RtcCmos::Config{1767225600, 128ull << 20, 1}};

    void SetUp() override {
        // init_8259A(): vectors 0x30 / 0x38, cascade on IR2, normal EOI; all masked but
        // the cascade, the timer, COM1 and the RTC.
        const std::uint8_t seq[][2] = {{0x20, 0x11}, {0x21, 0x30}, {0x21, 0x04}, {0x21, 0x01},
                                       {0xA0, 0x11}, {0xA1, 0x38}, {0xA1, 0x02}, {0xA1, 0x01},
                                       {0x21, 0xEA}, {0xA1, 0xFE}};
        for (auto& [port, v] : seq) pic.ioWrite(port, 1, v);
    }
    void advance(std::uint64_t ns) {
        clock.now = ns;
        pit.advanceTo(ns);
        com1.advanceTo(ns);
        rtc.advanceTo(ns);
    }
    // What Linux's mask_and_ack_8259A + handler + unmask amount to for the test.
    void eoi(unsigned irq) {
        if (irq >= 8) {
            pic.ioWrite(0xA0, 1, 0x60 + (irq & 7));
            pic.ioWrite(0x20, 1, 0x62);
        } else {
            pic.ioWrite(0x20, 1, 0x60 + irq);
        }
    }
};

TEST_F(Platform, PeriodicTimerTickReachesTheCpuEveryPeriod) {
    pit.ioWrite(0x43, 1, 0x34);
    pit.ioWrite(0x40, 1, 0xA9);  // LATCH for HZ=250: 1193182/250 = 4773 = 0x12A5 (approx)
    pit.ioWrite(0x40, 1, 0x12);
    std::uint8_t vec = pic.acknowledge();  // the mode-2 OUT edge at programming time
    eoi(vec - 0x30);
    for (int tick = 1; tick <= 5; ++tick) {
        const std::uint64_t due = pit.nextDeadlineNs();
        advance(due - 1);
        EXPECT_FALSE(pins.intr.load()) << "tick " << tick << " early";
        advance(due);
        ASSERT_TRUE(pins.intr.load()) << "tick " << tick;
        vec = pic.acknowledge();
        EXPECT_EQ(vec, 0x30);
        EXPECT_FALSE(pins.intr.load());
        eoi(0);
    }
}

TEST_F(Platform, InterruptDriven8250TransmitDrainsAndRestarts) {
    auto out = [&](unsigned reg, unsigned v) { com1.ioWrite(static_cast<std::uint16_t>(0x3F8 + reg), 1, v); };
    auto in = [&](unsigned reg) { return com1.ioRead(static_cast<std::uint16_t>(0x3F8 + reg), 1); };
    out(3, 0x03);
    out(2, 0x81);
    out(4, 0x0B);  // DTR RTS OUT2
    std::string pending(100, 'x');
    for (int round = 0; round < 3; ++round) {
        out(1, 0x05 | 0x02);  // start_tx: set THRI
        ASSERT_TRUE(pins.intr.load()) << "round " << round;
        ASSERT_EQ(pic.acknowledge(), 0x34);
        // serial8250_interrupt: loop until IIR says no interrupt.
        for (int pass = 0; pass < 100; ++pass) {
            const unsigned iir = in(2);
            if (iir & 1) break;
            const unsigned lsr = in(5);
            if ((lsr & 0x20) && (iir & 0x0F) == 0x02) {
                for (int i = 0; i < 16 && !pending.empty(); ++i) {
                    out(0, static_cast<unsigned char>(pending.back()));
                    pending.pop_back();
                }
                if (pending.empty()) out(1, 0x05);  // stop_tx: clear THRI
            }
        }
        eoi(4);
        // THR writes inside the handler re-armed THRE (a new edge, as on real parts), so
        // one more IRQ4 may come; its handler finds nothing, as Linux's does.
        if (pins.intr.load()) {
            EXPECT_EQ(pic.acknowledge(), 0x34);
            EXPECT_EQ(in(2) & 1, 1u);
            eoi(4);
        }
        EXPECT_FALSE(pins.intr.load()) << "the line dropped, so the next start_tx makes an edge";
        pending.assign(40, 'y');
    }
    advance(1);
    EXPECT_EQ(console, std::string(100, 'x') + std::string(80, 'y'));
}

TEST_F(Platform, RtcUpdateInterruptThroughTheCascade) {
    rtc.ioWrite(0x70, 1, 0x0B);
    rtc.ioWrite(0x71, 1, 0x12);  // UIE
    advance(rtc.nextDeadlineNs());
    ASSERT_TRUE(pins.intr.load());
    EXPECT_EQ(pic.acknowledge(), 0x38);
    rtc.ioWrite(0x70, 1, 0x0C);
    EXPECT_EQ(rtc.ioRead(0x71, 1) & 0x90, 0x90u);
    eoi(8);
    EXPECT_FALSE(pins.intr.load());
    advance(rtc.nextDeadlineNs());
    ASSERT_TRUE(pins.intr.load()) << "the next second interrupts again";
    EXPECT_EQ(pic.acknowledge(), 0x38);
}

TEST_F(Platform, ConsoleInputBelowTheTriggerArrivesByTimeout) {
    auto out = [&](unsigned reg, unsigned v) { com1.ioWrite(static_cast<std::uint16_t>(0x3F8 + reg), 1, v); };
    out(3, 0x80);
    out(0, 0x01);
    out(1, 0x00);
    out(3, 0x03);
    out(2, 0x81);
    out(4, 0x0B);
    out(1, 0x05);
    const std::uint8_t key = 'l';
    ASSERT_EQ(com1.receive({&key, 1}), 1u);
    EXPECT_FALSE(pins.intr.load());
    advance(com1.nextDeadlineNs());
    ASSERT_TRUE(pins.intr.load());
    EXPECT_EQ(pic.acknowledge(), 0x34);
    EXPECT_EQ(com1.ioRead(0x3FA, 1), 0xCCu);
    EXPECT_EQ(com1.ioRead(0x3F8, 1), 'l');
    EXPECT_EQ(com1.ioRead(0x3FA, 1) & 1, 1u);
}

}  // namespace
