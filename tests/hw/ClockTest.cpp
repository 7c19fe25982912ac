#include "hw/DeterministicClock.h"
#include "hw/HostClock.h"
#include "hw/TscFrequency.h"
#include "util/Error.h"

#include <gtest/gtest.h>

using namespace cxvm::hw;

TEST(DeterministicClock, TimeIsRetiredInstructionsTimesTheRate) {
    std::uint64_t retired = 0;
    DeterministicClock clock([&] { return retired; });
    EXPECT_EQ(clock.nowNs(), 0u);
    retired = 1'000'000;
    EXPECT_EQ(clock.nowNs(), 1'000'000u) << "1 ns per instruction by default";
    DeterministicClock slow([&] { return retired; }, 2500);
    EXPECT_EQ(slow.nowNs(), 2'500'000u);
    retired = std::uint64_t{1} << 60;  // no overflow in the product
    EXPECT_EQ(slow.nowNs(), (std::uint64_t{1} << 60) / 2 * 5);
}

TEST(DeterministicClock, SkipToAdvancesIdleTimeMonotonically) {
    std::uint64_t retired = 100;
    DeterministicClock clock([&] { return retired; });
    clock.skipTo(5000);
    EXPECT_EQ(clock.nowNs(), 5000u);
    clock.skipTo(10);  // never backwards
    EXPECT_EQ(clock.nowNs(), 5000u);
    retired += 50;
    EXPECT_EQ(clock.nowNs(), 5050u);
}

TEST(DeterministicClock, RejectsBadConfiguration) {
    EXPECT_THROW(DeterministicClock({}), cxvm::Error);
    EXPECT_THROW(DeterministicClock([] { return std::uint64_t{0}; }, 0), cxvm::Error);
}

TEST(HostClock, StartsNearZeroAndIsMonotonic) {
    HostClock clock;
    const std::uint64_t a = clock.nowNs();
    const std::uint64_t b = clock.nowNs();
    EXPECT_LT(a, 1'000'000'000u);
    EXPECT_GE(b, a);
}

TEST(TscFrequency, ScalesNanoseconds) {
    constexpr TscFrequency ghz;
    static_assert(ghz.ticksAt(123) == 123);
    TscFrequency tsc(2'400'000'000);
    EXPECT_EQ(tsc.ticksAt(1'000'000'000), 2'400'000'000u);
    EXPECT_EQ(tsc.ticksAt(10), 24u);
    EXPECT_EQ(tsc.nsForTicks(25), 11u) << "rounded up";
    EXPECT_GE(tsc.ticksAt(tsc.nsForTicks(25)), 25u);
    EXPECT_LT(tsc.ticksAt(tsc.nsForTicks(25) - 1), 25u) << "and not a nanosecond earlier";
    EXPECT_EQ(TscFrequency(0).hz(), TscFrequency::kDefaultHz);
}
