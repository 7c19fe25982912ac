#include "hw/Pic8259.h"

#include <gtest/gtest.h>

#include <vector>

using cxvm::hw::CpuInterruptPins;
using cxvm::hw::Pic8259Pair;

namespace {

// The initialisation Linux's init_8259A() performs (vectors 0x30/0x38 like Linux
// uses ISA_IRQ_VECTOR(0) = 0x30; ICW4 = 8086 mode, normal EOI).
struct PicFixture : ::testing::Test {
    CpuInterruptPins pins;
    Pic8259Pair pic{pins};

    void SetUp() override { init(0x01); }
    void init(std::uint8_t icw4) {
        pic.ioWrite(0x20, 1, 0x11);
        pic.ioWrite(0x21, 1, 0x30);
        pic.ioWrite(0x21, 1, 0x04);
        pic.ioWrite(0x21, 1, icw4);
        pic.ioWrite(0xA0, 1, 0x11);
        pic.ioWrite(0xA1, 1, 0x38);
        pic.ioWrite(0xA1, 1, 0x02);
        pic.ioWrite(0xA1, 1, icw4);
    }
    bool intr() const { return pins.intr.load(); }
    void eoiMaster() { pic.ioWrite(0x20, 1, 0x20); }
    void eoiSlave() { pic.ioWrite(0xA0, 1, 0x20); }
    void pulse(unsigned irq) {
        pic.setIrqLevel(irq, true);
        pic.setIrqLevel(irq, false);
    }
};

TEST_F(PicFixture, RegistersItselfAsTheInterruptController) { EXPECT_EQ(pins.controller, &pic); }

TEST_F(PicFixture, FixedPriorityAndNonSpecificEoi) {
    pulse(3);
    pulse(1);
    ASSERT_TRUE(intr());
    EXPECT_EQ(pic.acknowledge(), 0x31);  // IRQ1 beats IRQ3
    EXPECT_EQ(pic.master().isr(), 0x02);
    EXPECT_FALSE(intr()) << "IRQ3 is lower priority than the in-service IRQ1";
    pulse(0);
    EXPECT_TRUE(intr()) << "IRQ0 is higher priority than IRQ1 and nests";
    EXPECT_EQ(pic.acknowledge(), 0x30);
    EXPECT_EQ(pic.master().isr(), 0x03);
    eoiMaster();  // clears IRQ0, the highest in service
    EXPECT_EQ(pic.master().isr(), 0x02);
    EXPECT_FALSE(intr());
    eoiMaster();
    EXPECT_TRUE(intr());
    EXPECT_EQ(pic.acknowledge(), 0x33);
    eoiMaster();
    EXPECT_EQ(pic.master().isr(), 0);
    EXPECT_FALSE(intr());
}

TEST_F(PicFixture, MaskBlocksAndUnmaskDelivers) {
    pic.ioWrite(0x21, 1, 0x10);  // mask IRQ4
    EXPECT_EQ(pic.ioRead(0x21, 1), 0x10u);
    pulse(4);
    EXPECT_FALSE(intr());
    pic.ioWrite(0x21, 1, 0x00);
    EXPECT_TRUE(intr());
    EXPECT_EQ(pic.acknowledge(), 0x34);
}

TEST_F(PicFixture, CascadeThroughIrq2) {
    pulse(12);
    EXPECT_EQ(pic.master().irr() & 0x04, 0x04);
    ASSERT_TRUE(intr());
    EXPECT_EQ(pic.acknowledge(), 0x3C);
    EXPECT_EQ(pic.master().isr(), 0x04);
    EXPECT_EQ(pic.slave().isr(), 0x10);
    pulse(9);  // lower priority than 12? no: 9 is higher on the slave (IR1 < IR4)
    EXPECT_FALSE(intr()) << "master IR2 is in service: the slave's nested request waits";
    eoiSlave();
    eoiMaster();
    EXPECT_TRUE(intr());
    EXPECT_EQ(pic.acknowledge(), 0x39);
}

TEST_F(PicFixture, SpecialFullyNestedLetsHigherSlaveRequestsThrough) {
    init(0x11);  // ICW4: SFNM + 8086
    pulse(12);
    EXPECT_EQ(pic.acknowledge(), 0x3C);
    pulse(9);
    EXPECT_TRUE(intr());
    EXPECT_EQ(pic.acknowledge(), 0x39);
}

TEST_F(PicFixture, ElcrLevelTriggeredRequestsPersistUntilTheLineDrops) {
    pic.ioWrite(0x4D1, 1, 0x04);  // IRQ10 level
    EXPECT_EQ(pic.ioRead(0x4D1, 1), 0x04u);
    pic.setIrqLevel(10, true);
    EXPECT_EQ(pic.acknowledge(), 0x3A);
    eoiSlave();
    eoiMaster();
    EXPECT_TRUE(intr()) << "the level is still asserted";
    EXPECT_EQ(pic.acknowledge(), 0x3A);
    pic.setIrqLevel(10, false);
    eoiSlave();
    eoiMaster();
    EXPECT_FALSE(intr());
}

TEST_F(PicFixture, EdgeTriggeredNeedsANewEdge) {
    pic.setIrqLevel(5, true);
    EXPECT_EQ(pic.acknowledge(), 0x35);
    eoiMaster();
    EXPECT_FALSE(intr()) << "the line is still high but there was no new edge";
    pic.setIrqLevel(5, false);
    pic.setIrqLevel(5, true);
    EXPECT_TRUE(intr());
}

TEST_F(PicFixture, ElcrBitsForTimerKeyboardCascadeRtcAndFpuAreFixedEdge) {
    pic.ioWrite(0x4D0, 2, 0xFFFF);
    EXPECT_EQ(pic.ioRead(0x4D0, 1), 0xF8u);
    EXPECT_EQ(pic.ioRead(0x4D1, 1), 0xDEu);
    EXPECT_EQ(pic.ioRead(0x4D0, 2), 0xDEF8u);
}

TEST_F(PicFixture, VanishedLevelRequestGivesSpuriousIrq7And15) {
    pic.ioWrite(0x4D0, 1, 0x20);  // IRQ5 level
    pic.setIrqLevel(5, true);
    ASSERT_TRUE(intr());
    pic.setIrqLevel(5, false);
    EXPECT_EQ(pic.acknowledge(), 0x37);
    EXPECT_EQ(pic.master().isr(), 0) << "a spurious IR7 sets no ISR bit";

    pic.ioWrite(0x4D1, 1, 0x08);  // IRQ11 level
    pic.setIrqLevel(11, true);
    // The master latched the cascade edge; the slave's request then disappears.
    pic.setIrqLevel(11, false);
    EXPECT_EQ(pic.acknowledge(), 0x3F);
    EXPECT_EQ(pic.slave().isr(), 0);
    EXPECT_EQ(pic.master().isr(), 0x04) << "the master acknowledged the cascade";
}

TEST_F(PicFixture, AutoEoiLeavesIsrClear) {
    init(0x03);
    pulse(6);
    EXPECT_EQ(pic.acknowledge(), 0x36);
    EXPECT_EQ(pic.master().isr(), 0);
    pulse(7);
    EXPECT_TRUE(intr());
}

TEST_F(PicFixture, RotateOnNonSpecificEoiMakesServedLevelLowest) {
    pulse(0);
    EXPECT_EQ(pic.acknowledge(), 0x30);
    pic.ioWrite(0x20, 1, 0xA0);  // rotate on non-specific EOI
    pulse(5);
    pulse(0);
    EXPECT_EQ(pic.acknowledge(), 0x35) << "IRQ0 is now the lowest priority";
    pic.ioWrite(0x20, 1, 0x65);  // specific EOI for 5
    EXPECT_EQ(pic.master().isr(), 0);
    EXPECT_EQ(pic.acknowledge(), 0x30);
}

TEST_F(PicFixture, SetPriorityAndRotateOnSpecificEoi) {
    pic.ioWrite(0x20, 1, 0xC3);  // IRQ3 lowest -> IRQ4 highest
    pulse(3);
    pulse(4);
    EXPECT_EQ(pic.acknowledge(), 0x34);
    pic.ioWrite(0x20, 1, 0xE4);  // rotate on specific EOI 4: 4 lowest, 5 highest
    EXPECT_EQ(pic.master().isr(), 0);
    pulse(4);
    EXPECT_EQ(pic.acknowledge(), 0x33) << "3 now outranks 4";
}

TEST_F(PicFixture, ReadIrrIsrAndPoll) {
    pic.ioWrite(0x21, 1, 0xFF);
    pulse(3);
    pic.ioWrite(0x20, 1, 0x0A);
    EXPECT_EQ(pic.ioRead(0x20, 1), 0x08u);  // IRR
    pic.ioWrite(0x21, 1, 0x00);
    pic.acknowledge();
    pic.ioWrite(0x20, 1, 0x0B);
    EXPECT_EQ(pic.ioRead(0x20, 1), 0x08u);  // ISR
    eoiMaster();
    pulse(6);
    pic.ioWrite(0x20, 1, 0x0C);             // poll
    EXPECT_EQ(pic.ioRead(0x20, 1), 0x86u);  // request on level 6
    EXPECT_EQ(pic.master().isr(), 0x40) << "a poll read acknowledges";
    EXPECT_EQ(pic.ioRead(0x20, 1), 0x40u) << "back to reading ISR";
    pic.ioWrite(0x20, 1, 0x0C);
    EXPECT_EQ(pic.ioRead(0x20, 1), 0x00u) << "nothing pending";
}

TEST_F(PicFixture, SpecialMaskModeAllowsLowerPriorityWhileMaskedLevelInService) {
    pulse(1);
    EXPECT_EQ(pic.acknowledge(), 0x31);
    pulse(4);
    EXPECT_FALSE(intr());
    pic.ioWrite(0x21, 1, 0x02);  // mask the in-service IRQ1
    pic.ioWrite(0x20, 1, 0x68);  // OCW3: set special mask
    EXPECT_TRUE(intr());
    EXPECT_EQ(pic.acknowledge(), 0x34);
    pic.ioWrite(0x20, 1, 0x48);  // reset special mask
    pic.ioWrite(0x20, 1, 0x64);  // EOI 4
    pic.ioWrite(0x20, 1, 0x61);  // EOI 1
    EXPECT_EQ(pic.master().isr(), 0);
}

TEST_F(PicFixture, Icw1ClearsMaskAndInServiceState) {
    pic.ioWrite(0x21, 1, 0xAA);
    pulse(0);
    pic.acknowledge();
    init(0x01);
    EXPECT_EQ(pic.master().imr(), 0);
    EXPECT_EQ(pic.master().isr(), 0);
    EXPECT_EQ(pic.master().vectorBase(), 0x30);
}

TEST_F(PicFixture, OutOfRangeLineIsIgnored) {
    pic.setIrqLevel(16, true);
    EXPECT_FALSE(intr());
}

}  // namespace

namespace {

// onEoi (passthrough INTx resampling, docs/passthrough.md): each EOI reports the IRQ
// whose in-service bit it cleared, slave lines as 8..15, after the chips are consistent.
TEST_F(PicFixture, EoiReportsTheLineItEnded) {
    std::vector<unsigned> ended;
    // As a passthrough function does: the line goes down at its EOI.
    pic.onEoi = [&](unsigned irq) {
        ended.push_back(irq);
        if (irq == 10) pic.setIrqLevel(10, false);
    };
    pic.ioWrite(0x4D1, 1, 0x04);  // IRQ 10 level-triggered
    pic.setIrqLevel(10, true);
    ASSERT_TRUE(intr());
    EXPECT_EQ(pic.acknowledge(), 0x3A);
    EXPECT_TRUE(ended.empty()) << "no EOI yet";
    eoiSlave();
    ASSERT_EQ(ended, std::vector<unsigned>{10});
    eoiMaster();  // the cascade's EOI
    EXPECT_EQ(ended, (std::vector<unsigned>{10, 2}));
    EXPECT_FALSE(intr()) << "lowered inside the EOI: no spurious IRQ 15 latched on the cascade";
    eoiMaster();  // nothing in service: no report
    EXPECT_EQ(ended.size(), 2u);
    pulse(4);
    EXPECT_EQ(pic.acknowledge(), 0x34);
    pic.ioWrite(0x20, 1, 0x64);  // specific EOI, level 4
    EXPECT_EQ(ended.back(), 4u);
    // OCW3 (read ISR) is no EOI.
    pic.ioWrite(0x20, 1, 0x0B);
    EXPECT_EQ(ended.size(), 3u);
}

}  // namespace
