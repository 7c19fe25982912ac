#include "FakeSysfs.h"
#include "host/pci/IommuGroup.h"
#include "host/pci/PciSysfs.h"
#include "util/Error.h"

#include <gtest/gtest.h>

namespace cxvm::host::pci {
namespace {

using test::FakeFunction;
using test::FakeSysfs;

TEST(SysfsPciDevice, ReadsEverythingFromAFakeTree) {
    FakeSysfs fake;
    fake.add(test::tutorialSata());
    const PciSysfs sysfs(fake.root());
    ASSERT_EQ(sysfs.list().size(), 1u);
    const auto d = sysfs.device(PciAddress::parse("00:1f.2"));
    EXPECT_EQ(d.address.toString(), "0000:00:1f.2");
    EXPECT_EQ(d.vendor, 0x8086);
    EXPECT_EQ(d.device, 0x2922);
    EXPECT_EQ(d.subsystemDevice, 0x1234);
    EXPECT_EQ(d.classCode, 0x010601u);
    EXPECT_EQ(d.revision, 2);
    EXPECT_EQ(d.irq, 19u);
    EXPECT_FALSE(d.irqIsMsi());
    EXPECT_TRUE(d.hasIntx());
    EXPECT_EQ(d.interruptPin, 1);
    EXPECT_EQ(d.headerType, 0);
    EXPECT_FALSE(d.isBridge());
    EXPECT_EQ(d.driver, "ahci");
    EXPECT_FALSE(d.driverOverride.has_value());  // "(null)"
    EXPECT_EQ(d.iommuGroup, 7u);
    ASSERT_EQ(d.bars.size(), 5u);
    EXPECT_EQ(d.bars[3].start, 0x4060u);
    EXPECT_EQ(d.bars[4].size, 0x800u);
}

TEST(SysfsPciDevice, ListsInAddressOrderAndSkipsNonDevices) {
    FakeSysfs fake;
    FakeFunction a = test::tutorialEthernet(), b = test::tutorialSata(), c = test::tutorialSata();
    c.address = "0000:00:02.0";
    fake.add(a);
    fake.add(b);
    fake.add(c);
    test::writeText(fake.root() / "bus/pci/devices/not-a-device", "x");
    const auto list = PciSysfs(fake.root()).list();
    ASSERT_EQ(list.size(), 3u);
    EXPECT_EQ(list[0].toString(), "0000:00:02.0");
    EXPECT_EQ(list[1].toString(), "0000:00:1f.2");
    EXPECT_EQ(list[2].toString(), "0000:05:00.0");
}

TEST(SysfsPciDevice, MsiIrqIsRecognised) {
    FakeSysfs fake;
    FakeFunction f = test::tutorialEthernet();
    f.irq = 130;  // what sysfs shows while the driver has MSI on
    f.msiIrqs = {130};
    f.interruptLine = 11;
    fake.add(f);
    const auto d = PciSysfs(fake.root()).device(PciAddress::parse("05:00.0"));
    EXPECT_TRUE(d.irqIsMsi());
    EXPECT_EQ(d.msiIrqs, std::vector<unsigned>{130});
    EXPECT_EQ(d.interruptLine, 11);
}

TEST(SysfsPciDevice, UnknownFunctionAndBadRootAreErrorsNamingThem) {
    FakeSysfs fake;
    fake.add(test::tutorialSata());
    const PciSysfs sysfs(fake.root());
    try {
        (void)sysfs.device(PciAddress::parse("00:1f.3"));
        ADD_FAILURE();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("0000:00:1f.3"), std::string::npos) << e.what();
    }
    try {
        (void)PciSysfs(fake.root() / "nowhere").list();
        ADD_FAILURE();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("nowhere/bus/pci/devices"), std::string::npos) << e.what();
    }
}

TEST(SysfsPciDevice, MalformedAttributeIsAnErrorNamingTheFile) {
    FakeSysfs fake;
    const auto dir = fake.add(test::tutorialSata());
    test::writeText(dir / "vendor", "intel\n");
    try {
        (void)PciSysfs(fake.root()).device(PciAddress::parse("00:1f.2"));
        ADD_FAILURE();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("vendor': expected a number, got 'intel'"), std::string::npos)
            << e.what();
    }
}

// A group of an endpoint bound to a host driver, the target, and a bridge.
TEST(IommuGroup, ViabilityFollowsTheKernelsRules) {
    FakeSysfs fake;
    FakeFunction target = test::tutorialSata();
    FakeFunction lpc = test::tutorialSata();
    lpc.address = "0000:00:1f.0";
    lpc.classCode = 0x060100;
    lpc.driver = "lpc_ich";
    lpc.bars.clear();
    FakeFunction bridge = test::tutorialSata();
    bridge.address = "0000:00:1c.0";
    bridge.classCode = 0x060400;
    bridge.headerType = 1;
    bridge.driver = "pcieport";
    bridge.bars.clear();
    fake.add(target);
    fake.add(lpc);
    fake.add(bridge);
    const PciSysfs sysfs(fake.root());
    auto s = checkIommuGroup(sysfs, 7, PciAddress::parse(target.address));
    ASSERT_EQ(s.members.size(), 3u);
    EXPECT_EQ(s.members[0].address.toString(), "0000:00:1c.0");
    EXPECT_TRUE(s.members[0].bridge);
    EXPECT_TRUE(s.members[0].ok);
    EXPECT_EQ(s.members[1].address.toString(), "0000:00:1f.0");
    EXPECT_FALSE(s.members[1].ok);  // ISA bridge class, but an endpoint header bound to lpc_ich
    EXPECT_NE(s.members[1].reason.find("lpc_ich"), std::string::npos);
    EXPECT_FALSE(s.members[2].ok);  // ahci
    EXPECT_FALSE(s.viableNow);
    EXPECT_FALSE(s.viableAfterBind);

    // Unbind lpc_ich: binding the target is then all it takes.
    std::filesystem::remove(fake.root() / "devices/pci0000:00/0000:00:1f.0/driver");
    s = checkIommuGroup(sysfs, 7, PciAddress::parse(target.address));
    EXPECT_FALSE(s.viableNow);
    EXPECT_TRUE(s.viableAfterBind);

    // Bind the target to vfio-pci: viable.
    const auto drv = fake.root() / "devices/pci0000:00/0000:00:1f.2/driver";
    std::filesystem::remove(drv);
    std::filesystem::create_directories(fake.root() / "bus/pci/drivers/vfio-pci");
    std::filesystem::create_directory_symlink(fake.root() / "bus/pci/drivers/vfio-pci", drv);
    s = checkIommuGroup(sysfs, 7, PciAddress::parse(target.address));
    EXPECT_TRUE(s.viableNow);
    EXPECT_TRUE(s.viableAfterBind);
    EXPECT_TRUE(isVfioFriendlyDriver("pci-stub"));
    EXPECT_FALSE(isVfioFriendlyDriver("e1000e"));
}

}  // namespace
}  // namespace cxvm::host::pci
