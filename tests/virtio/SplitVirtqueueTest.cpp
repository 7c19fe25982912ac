// The split virtqueue (virtio 1.2, 2.7) driven by a test driver writing rings into guest
// memory: normal chains, indirect tables, used ring and interrupt suppression, and every
// hostile chain — each must come back Broken with the right reason and no host access
// outside guest memory.
#include "GuestRings.h"

#include "hw/GuestMemory.h"
#include "hw/virtio/SplitVirtqueue.h"

#include <gtest/gtest.h>

#include <vector>

namespace {

using namespace cxvm;
using namespace cxvm::hw::virtio;

constexpr std::uint64_t kRam = 1 << 20;

struct QueueFixture : ::testing::Test {
    hw::GuestMemory mem{kRam};
    test::GuestRings rings{mem};
    SplitVirtqueue q{128};
    std::vector<ChainSegment> storage = std::vector<ChainSegment>(128);
    DescriptorChain chain{storage};
    ChainFault fault;

    void enable(bool indirect = false, bool eventIdx = false) {
        q.descAddr = rings.desc;
        q.driverAddr = rings.avail;
        q.deviceAddr = rings.used;
        ASSERT_EQ(q.enable(mem, indirect, eventIdx), RingError::None);
    }
    ChainError brokenWith() {
        EXPECT_EQ(q.pop(chain, fault), PopStatus::Broken);
        return fault.error;
    }
};

TEST_F(QueueFixture, PopsReadableThenWritableSegments) {
    enable();
    rings.setDesc(0, 0x20000, 16, desc::kNext, 1);
    rings.setDesc(1, 0x21000, 4096, desc::kNext | desc::kWrite, 2);
    rings.setDesc(2, 0x22000, 1, desc::kWrite);
    rings.offer(0);
    EXPECT_TRUE(q.hasAvailable());
    ASSERT_EQ(q.pop(chain, fault), PopStatus::Ready);
    EXPECT_EQ(chain.head(), 0);
    ASSERT_EQ(chain.readable().size(), 1u);
    ASSERT_EQ(chain.writable().size(), 2u);
    EXPECT_EQ(chain.readable()[0].host, mem.tryHost(0x20000));
    EXPECT_EQ(chain.writable()[0].gpa, 0x21000u);
    EXPECT_EQ(chain.readableBytes(), 16u);
    EXPECT_EQ(chain.writableBytes(), 4097u);
    EXPECT_EQ(q.pop(chain, fault), PopStatus::Empty);

    q.pushUsed(0, 4097);
    EXPECT_EQ(rings.usedIdx(), 1);
    EXPECT_EQ(rings.usedId(0), 0u);
    EXPECT_EQ(rings.usedLen(0), 4097u);
    EXPECT_TRUE(q.takeInterruptNeed());
    EXPECT_FALSE(q.takeInterruptNeed()) << "nothing new since";
    q.pushUsed(0, 1);
    EXPECT_EQ(rings.usedIdx(), 1) << "a head that is not out is not pushed";
}

TEST_F(QueueFixture, IndirectTable) {
    enable(/*indirect=*/true);
    const std::uint64_t table = 0x30000;
    rings.setDesc(0, 0x20000, 16, desc::kNext, 1, table);
    rings.setDesc(1, 0x21000, 512, desc::kNext | desc::kWrite, 2, table);
    rings.setDesc(2, 0x22000, 1, desc::kWrite, 0, table);
    rings.setDesc(5, table, 3 * 16, desc::kIndirect);
    rings.offer(5);
    ASSERT_EQ(q.pop(chain, fault), PopStatus::Ready);
    EXPECT_EQ(chain.head(), 5);
    EXPECT_EQ(chain.readableBytes(), 16u);
    EXPECT_EQ(chain.writableBytes(), 513u);
}

TEST_F(QueueFixture, InterruptSuppression) {
    enable();
    rings.setDesc(0, 0x20000, 1, desc::kWrite);
    rings.setAvailFlags(kAvailNoInterrupt);
    rings.offer(0);
    ASSERT_EQ(q.pop(chain, fault), PopStatus::Ready);
    q.pushUsed(0, 1);
    EXPECT_FALSE(q.takeInterruptNeed()) << "VIRTQ_AVAIL_F_NO_INTERRUPT";
}

TEST_F(QueueFixture, EventIdxAsksForTheRightNotificationsAndInterrupts) {
    enable(false, /*eventIdx=*/true);
    for (std::uint16_t i = 0; i < 3; ++i) rings.setDesc(i, 0x20000 + 0x100 * i, 1, desc::kWrite);
    EXPECT_EQ(q.pop(chain, fault), PopStatus::Empty);
    EXPECT_EQ(rings.availEvent(), 0) << "notify me at the next entry";
    rings.setUsedEvent(1);  // the driver wants an interrupt once used idx passes 1
    for (std::uint16_t i = 0; i < 3; ++i) rings.offer(i);
    for (std::uint16_t i = 0; i < 3; ++i) ASSERT_EQ(q.pop(chain, fault), PopStatus::Ready);
    EXPECT_EQ(q.pop(chain, fault), PopStatus::Empty);
    EXPECT_EQ(rings.availEvent(), 3);
    q.pushUsed(0, 1);
    EXPECT_FALSE(q.takeInterruptNeed()) << "used idx 1 has not passed used_event 1";
    q.pushUsed(1, 1);
    EXPECT_TRUE(q.takeInterruptNeed()) << "used idx 2 passed it";
    q.pushUsed(2, 1);
    EXPECT_FALSE(q.takeInterruptNeed()) << "already signalled past used_event";
}

TEST_F(QueueFixture, EnableChecksTheRingLayout) {
    q.descAddr = rings.desc;
    q.driverAddr = rings.avail;
    q.deviceAddr = rings.used;
    q.size = 100;
    EXPECT_EQ(q.enable(mem, false, false), RingError::BadSize);
    q.size = 256;
    EXPECT_EQ(q.enable(mem, false, false), RingError::BadSize) << "above the maximum";
    q.size = 128;
    q.descAddr = rings.desc + 8;
    EXPECT_EQ(q.enable(mem, false, false), RingError::Misaligned);
    q.descAddr = kRam - 16 * 64;  // table runs past the end of RAM
    EXPECT_EQ(q.enable(mem, false, false), RingError::OutsideRam);
    q.descAddr = rings.desc;
    q.deviceAddr = 0xFFFF'FFFF'FFFF'FFF0ull;
    EXPECT_EQ(q.enable(mem, false, false), RingError::OutsideRam);
    EXPECT_FALSE(q.enabled());
    std::vector<std::uint8_t> rom(4096);
    mem.addRom(0xFFFF'0000, rom, "rom");
    q.deviceAddr = 0xFFFF'0000;
    EXPECT_EQ(q.enable(mem, false, false), RingError::OutsideRam) << "the device ring must be writable";
    q.deviceAddr = rings.used;
    EXPECT_EQ(q.enable(mem, false, false), RingError::None);
}

TEST_F(QueueFixture, BufferOutsideRam) {
    enable();
    rings.setDesc(0, kRam - 8, 16);
    rings.offer(0);
    EXPECT_EQ(brokenWith(), ChainError::OutsideMemory);
    EXPECT_EQ(fault.addr, kRam - 8);
    EXPECT_EQ(q.pop(chain, fault), PopStatus::Empty) << "a broken queue stays stopped";
}

TEST_F(QueueFixture, HugeAddressesDoNotWrap) {
    enable();
    rings.setDesc(0, 0xFFFF'FFFF'FFFF'F000ull, 0x2000);
    rings.offer(0);
    EXPECT_EQ(brokenWith(), ChainError::OutsideMemory);
}

TEST_F(QueueFixture, LoopEndsAtTheQueueSize) {
    enable();
    rings.setDesc(0, 0x20000, 16, desc::kNext, 1);
    rings.setDesc(1, 0x20000, 16, desc::kNext, 0);
    rings.offer(0);
    EXPECT_EQ(brokenWith(), ChainError::TooLong);
}

TEST_F(QueueFixture, SelfLoopWithZeroLength) {
    enable();
    rings.setDesc(0, 0, 0, desc::kNext, 0);
    rings.offer(0);
    EXPECT_EQ(brokenWith(), ChainError::TooLong);
}

TEST_F(QueueFixture, ChainLongerThanASmallerQueue) {
    q.size = 4;
    enable();
    for (std::uint16_t i = 0; i < 4; ++i) rings.setDesc(i, 0x20000, 16, desc::kNext, (i + 1) % 4);
    rings.size = 4;
    rings.offer(0);
    EXPECT_EQ(brokenWith(), ChainError::TooLong);
}

TEST_F(QueueFixture, WrongDirection) {
    enable();
    rings.setDesc(0, 0x20000, 1, desc::kWrite | desc::kNext, 1);
    rings.setDesc(1, 0x21000, 16);
    rings.offer(0);
    EXPECT_EQ(brokenWith(), ChainError::ReadableAfterWritable);
    EXPECT_EQ(fault.index, 1);
}

TEST_F(QueueFixture, HeadAndNextOutOfRange) {
    enable();
    rings.offer(128);
    EXPECT_EQ(brokenWith(), ChainError::HeadOutOfRange);

    SplitVirtqueue q2{128};
    q2.descAddr = rings.desc;
    q2.driverAddr = rings.avail + 0x400;
    q2.deviceAddr = rings.used;
    ASSERT_EQ(q2.enable(mem, false, false), RingError::None);
    test::GuestRings r2{mem};
    r2.avail = rings.avail + 0x400;
    rings.setDesc(0, 0x20000, 16, desc::kNext, 200);
    r2.offer(0);
    EXPECT_EQ(q2.pop(chain, fault), PopStatus::Broken);
    EXPECT_EQ(fault.error, ChainError::NextOutOfRange);
}

TEST_F(QueueFixture, AvailIndexJump) {
    enable();
    rings.put<std::uint16_t>(rings.avail + 2, 129);
    EXPECT_EQ(brokenWith(), ChainError::AvailIndexJump);
}

TEST_F(QueueFixture, HeadOfferedTwice) {
    enable();
    rings.setDesc(0, 0x20000, 1, desc::kWrite);
    rings.offer(0);
    rings.offer(0);
    ASSERT_EQ(q.pop(chain, fault), PopStatus::Ready);
    EXPECT_EQ(brokenWith(), ChainError::HeadInFlight);
}

TEST_F(QueueFixture, WritableBufferInRom) {
    std::vector<std::uint8_t> rom(4096, 0xAA);
    mem.addRom(0xFFFF'0000, rom, "rom");
    enable();
    rings.setDesc(0, 0xFFFF'0000, 16, desc::kNext, 1);  // reading ROM is fine
    rings.setDesc(1, 0xFFFF'0010, 1, desc::kWrite);
    rings.offer(0);
    EXPECT_EQ(brokenWith(), ChainError::WritableIntoRom);
}

TEST_F(QueueFixture, IndirectRules) {
    const std::uint64_t table = 0x30000;
    {
        enable(/*indirect=*/false);
        rings.setDesc(0, table, 16, desc::kIndirect);
        rings.offer(0);
        EXPECT_EQ(brokenWith(), ChainError::IndirectNotNegotiated);
    }
    struct Case {
        std::uint64_t addr;
        std::uint32_t len;
        std::uint16_t flags;
        ChainError expect;
    };
    rings.setDesc(0, table, 16, desc::kIndirect, 0, table);  // nested, inside the table
    rings.setDesc(0, 0x20000, 16, desc::kNext, 7, table + 0x100);  // next beyond a 2-entry table
    rings.setDesc(0, 0x20000, 16, desc::kNext, 0, table + 0x200);  // loop inside the table
    const Case cases[] = {
        {table, 16, desc::kIndirect | desc::kNext, ChainError::IndirectWithNext},
        {table, 0, desc::kIndirect, ChainError::IndirectBadLength},
        {table, 24, desc::kIndirect, ChainError::IndirectBadLength},
        {kRam - 16, 32, desc::kIndirect, ChainError::OutsideMemory},
        {table, 16, desc::kIndirect, ChainError::IndirectNested},
        {table + 0x100, 32, desc::kIndirect, ChainError::NextOutOfRange},
        {table + 0x200, 16, desc::kIndirect, ChainError::TooLong},
    };
    for (const Case& c : cases) {
        q.reset();
        rings.availIdx = 0;
        enable(/*indirect=*/true);
        rings.setDesc(3, c.addr, c.len, c.flags, 4);
        rings.setDesc(4, 0x20000, 16);
        rings.offer(3);
        EXPECT_EQ(brokenWith(), c.expect) << describe(c.expect);
    }
}

TEST_F(QueueFixture, ResetForgetsEverything) {
    enable();
    rings.setDesc(0, 0x20000, 1, desc::kWrite);
    rings.offer(0);
    ASSERT_EQ(q.pop(chain, fault), PopStatus::Ready);
    q.reset();
    EXPECT_FALSE(q.enabled());
    EXPECT_EQ(q.size, 128);
    EXPECT_EQ(q.descAddr, 0u);
    EXPECT_EQ(q.pop(chain, fault), PopStatus::Empty);
}

}  // namespace
