#include "host/pci/PciBar.h"
#include "util/Error.h"

#include <gtest/gtest.h>

namespace cxvm::host::pci {
namespace {

// A real resource file (an Intel 82801 AHCI controller and a 64-bit prefetchable BAR),
// with the ROM and SR-IOV lines the kernel adds.
constexpr std::string_view kResource =
    "0x0000000000004088 0x000000000000408f 0x0000000000040101\n"
    "0x0000000000004094 0x0000000000004097 0x0000000000040101\n"
    "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
    "0x000000f000000000 0x000000f00fffffff 0x000000000014220c\n"
    "0x0000000000004060 0x000000000000407f 0x0000000000040101\n"
    "0x00000000c0713000 0x00000000c07137ff 0x0000000000040200\n"
    "0x00000000c0700000 0x00000000c070ffff 0x0000000000046200\n"
    "0x0000000000000000 0x0000000000000000 0x0000000000000000\n";

TEST(PciBar, ParsesIoAndMemoryBarsInBarOrder) {
    const auto bars = parseResourceFile(kResource, "resource");
    ASSERT_EQ(bars.size(), 5u);
    EXPECT_EQ(bars[0].index, 0u);
    EXPECT_EQ(bars[0].kind, PciBar::Kind::Io);
    EXPECT_EQ(bars[0].start, 0x4088u);
    EXPECT_EQ(bars[0].size, 8u);
    EXPECT_EQ(bars[0].end(), 0x4090u);
    EXPECT_EQ(bars[1].index, 1u);
    EXPECT_EQ(bars[1].size, 4u);
    EXPECT_EQ(bars[2].index, 3u);  // BAR2 is unused
    EXPECT_EQ(bars[2].kind, PciBar::Kind::Memory);
    EXPECT_TRUE(bars[2].is64);
    EXPECT_TRUE(bars[2].prefetchable);
    EXPECT_EQ(bars[2].start, 0xf000000000u);
    EXPECT_EQ(bars[2].size, 0x10000000u);
    EXPECT_EQ(bars[3].index, 4u);
    EXPECT_EQ(bars[3].size, 0x20u);
    EXPECT_EQ(bars[4].index, 5u);
    EXPECT_EQ(bars[4].kind, PciBar::Kind::Memory);
    EXPECT_FALSE(bars[4].is64);
    EXPECT_FALSE(bars[4].prefetchable);
    EXPECT_EQ(bars[4].size, 0x800u);
    EXPECT_EQ(bars[4].flags, 0x40200u);
    // Line 6, the expansion ROM, is not a BAR.
    for (const auto& b : bars) EXPECT_NE(b.start, 0xc0700000u);
}

TEST(PciBar, LeavesOutDisabledAndUnsetResources) {
    const auto bars = parseResourceFile(
        "0x00000000e0000000 0x00000000e0000fff 0x0000000010040200\n"   // disabled
        "0x0000000000000000 0x0000000000000fff 0x0000000020040200\n"   // unset
        "0x00000000e0001000 0x00000000e0001fff 0x0000000000040200\n",
        "r");
    ASSERT_EQ(bars.size(), 1u);
    EXPECT_EQ(bars[0].index, 2u);
    EXPECT_EQ(bars[0].start, 0xe0001000u);
}

TEST(PciBar, MalformedLinesAreErrorsNamingFileAndLine) {
    for (std::string_view bad : {"0x1000 0x1fff\n", "0x1000 0x1fff 0x200 0x1\n", "4096 8191 512\n",
                                 "0x2000 0x1fff 0x200\n", "0xzz 0x1 0x1\n"}) {
        try {
            (void)parseResourceFile(bad, "/sys/x/resource");
            ADD_FAILURE() << "accepted: " << bad;
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("/sys/x/resource: line 1"), std::string::npos) << e.what();
        }
    }
}

}  // namespace
}  // namespace cxvm::host::pci
