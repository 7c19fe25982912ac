// `cxvm pci-info` on a fake sysfs tree: listing, one function (text and --json, the JSON
// parsed by an independent parser), bad input.
#include "FakeSysfs.h"
#include "JsonFlat.h"
#include "util/Subprocess.h"

#include <gtest/gtest.h>

namespace cxvm::host::pci {
namespace {

using test::q;

ProcessResult pciInfo(const test::FakeSysfs& fake, std::vector<std::string> args) {
    std::vector<std::string> argv{test::cxvmBinary(), "pci-info", "--sysfs-root", fake.root().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return runProcess(argv);
}

class PciInfoCli : public ::testing::Test {
protected:
    void SetUp() override {
        fake_.add(test::tutorialSata());
        fake_.add(test::tutorialEthernet());
    }
    test::FakeSysfs fake_;
};

TEST_F(PciInfoCli, ListsEveryFunction) {
    const auto r = pciInfo(fake_, {});
    ASSERT_EQ(r.exitStatus, 0) << r.err;
    EXPECT_NE(r.out.find("0000:00:1f.2  8086:2922  010601  SATA controller (AHCI)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("driver ahci"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("0000:05:00.0  8086:10d3  020000  Ethernet controller"), std::string::npos) << r.out;
    EXPECT_LT(r.out.find("0000:00:1f.2"), r.out.find("0000:05:00.0"));

    const auto j = test::flattenJson(pciInfo(fake_, {"--json"}).out);
    EXPECT_EQ(j.at("#"), "2");
    EXPECT_EQ(j.at("0.address"), q("0000:00:1f.2"));
    EXPECT_EQ(j.at("0.vendor"), "32902");  // 0x8086
    EXPECT_EQ(j.at("0.class"), std::to_string(0x010601));
    EXPECT_EQ(j.at("0.driver"), q("ahci"));
    EXPECT_EQ(j.at("0.iommu_group"), "7");
    EXPECT_EQ(j.at("1.address"), q("0000:05:00.0"));
    EXPECT_EQ(j.at("1.device"), std::to_string(0x10d3));
    EXPECT_EQ(j.at("1.iommu_group"), "12");
}

TEST_F(PciInfoCli, OneFunctionInText) {
    for (const char* addr : {"0000:00:1f.2", "00:1f.2"}) {
        const auto r = pciInfo(fake_, {addr});
        ASSERT_EQ(r.exitStatus, 0) << r.err;
        EXPECT_NE(r.out.find("0000:00:1f.2  SATA controller (AHCI) [8086:2922]"), std::string::npos) << r.out;
        EXPECT_NE(r.out.find("driver       ahci"), std::string::npos) << r.out;
        EXPECT_NE(r.out.find("irq          19 (INTA#, level-triggered, active low)"), std::string::npos) << r.out;
        EXPECT_NE(r.out.find("IOMMU group  7"), std::string::npos) << r.out;
        EXPECT_NE(r.out.find("BAR5  memory 32-bit 0xc0713000-0xc07137ff (2 KiB)"), std::string::npos) << r.out;
        EXPECT_NE(r.out.find("{\"name\":\"SATA\", \"source\":19, \"level_trig\":1, \"active_low\":1, \"dest\":11},"),
                  std::string::npos)
            << r.out;
        // VFIO: unbind ahci, driver_override, reprobe; the group holds only this function.
        const std::string dev = (fake_.root() / "bus/pci/devices/0000:00:1f.2").string();
        EXPECT_NE(r.out.find("echo 0000:00:1f.2 > " + dev + "/driver/unbind"), std::string::npos) << r.out;
        EXPECT_NE(r.out.find("echo vfio-pci > " + dev + "/driver_override"), std::string::npos) << r.out;
        EXPECT_NE(r.out.find("echo 8086 2922 > "), std::string::npos) << r.out;
        EXPECT_NE(r.out.find("IOMMU group 7: viable once this function is bound to vfio-pci"), std::string::npos)
            << r.out;
    }
}

TEST_F(PciInfoCli, OneFunctionInJson) {
    const auto r = pciInfo(fake_, {"05:00.0", "--json", "--name", "Ethernet5", "--dest", "10"});
    ASSERT_EQ(r.exitStatus, 0) << r.err;
    const auto j = test::flattenJson(r.out);
    EXPECT_EQ(j.at("address"), q("0000:05:00.0"));
    EXPECT_EQ(j.at("bus"), "5");
    EXPECT_EQ(j.at("vendor"), std::to_string(0x8086));
    EXPECT_EQ(j.at("device"), std::to_string(0x10d3));
    EXPECT_EQ(j.at("class"), std::to_string(0x020000));
    EXPECT_EQ(j.at("irq"), "17");
    EXPECT_EQ(j.at("irq_is_msi"), "false");
    EXPECT_EQ(j.at("interrupt_pin"), "1");
    EXPECT_EQ(j.at("driver"), q("e1000e"));
    EXPECT_EQ(j.at("driver_override"), "null");
    EXPECT_EQ(j.at("iommu_group"), "12");
    EXPECT_EQ(j.at("bars#"), "3");
    EXPECT_EQ(j.at("bars.1.kind"), q("io"));
    EXPECT_EQ(j.at("bars.1.index"), "2");
    EXPECT_EQ(j.at("bars.1.start"), std::to_string(0x3000));
    EXPECT_EQ(j.at("bars.1.size"), "32");
    EXPECT_EQ(j.at("bars.2.start"), std::to_string(0xc0520000));
    EXPECT_EQ(j.at("spec.name"), q("Ethernet5"));
    EXPECT_EQ(j.at("spec.ioports#"), "1");
    EXPECT_EQ(j.at("spec.ioports.0.start"), std::to_string(0x3000));
    EXPECT_EQ(j.at("spec.ioports.0.end"), std::to_string(0x3020));
    EXPECT_EQ(j.at("spec.ioports.0.pci_device"), "0");
    EXPECT_EQ(j.at("spec.pci_device.bus"), "5");
    EXPECT_EQ(j.at("spec.pci_device.irq"), q("Ethernet5"));
    EXPECT_EQ(j.at("spec.pci_device.memory#"), "2");
    EXPECT_EQ(j.at("spec.pci_device.memory.0.paddr"), std::to_string(0xc0500000));
    EXPECT_EQ(j.at("spec.pci_device.memory.0.size"), std::to_string(0x20000));
    EXPECT_EQ(j.at("spec.pci_device.memory.1.page_bits"), "12");
    EXPECT_EQ(j.at("spec.irq.source"), "17");
    EXPECT_EQ(j.at("spec.irq.level_trig"), "1");
    EXPECT_EQ(j.at("spec.irq.dest"), "10");
    // The snippet text in the JSON is the one --snippet prints.
    const auto snippet = pciInfo(fake_, {"05:00.0", "--snippet", "--name", "Ethernet5", "--dest", "10"});
    ASSERT_EQ(snippet.exitStatus, 0) << snippet.err;
    EXPECT_NE(snippet.out.find("\"dest\":10}"), std::string::npos) << snippet.out;
    const auto encoded = runProcess({"python3", "-c", "import json,sys; print(json.dumps(sys.stdin.read()))"},
                                    snippet.out);
    EXPECT_EQ(j.at("spec.text") + "\n", encoded.out);
    EXPECT_EQ(j.at("vfio.already_bound"), "false");
    EXPECT_EQ(j.at("vfio.unbind_driver"), q("e1000e"));
    EXPECT_EQ(j.at("vfio.commands#"), "4");
    EXPECT_EQ(j.at("vfio.commands.0"), q("modprobe vfio-pci"));
    EXPECT_EQ(j.at("vfio.iommu_group.id"), "12");
    EXPECT_EQ(j.at("vfio.iommu_group.viable_now"), "false");
    EXPECT_EQ(j.at("vfio.iommu_group.viable_after_bind"), "true");
    EXPECT_EQ(j.at("vfio.iommu_group.members#"), "1");
    EXPECT_EQ(j.at("vfio.iommu_group.members.0.driver"), q("e1000e"));
}

TEST_F(PciInfoCli, BadAddressesAreClearErrors) {
    struct Case {
        const char* address;
        const char* message;
    };
    for (const Case& c : {Case{"0000:00:1f.9", "'0000:00:1f.9' is not a PCI address"},
                          Case{"00:1f", "'00:1f' is not a PCI address"},
                          Case{"sata", "'sata' is not a PCI address"},
                          Case{"0000:00:1f.3", "no PCI function 0000:00:1f.3 on this host"},
                          Case{"01:00.0", "no PCI function 0000:01:00.0 on this host"}}) {
        const auto r = pciInfo(fake_, {c.address});
        EXPECT_EQ(r.exitStatus, 1) << c.address;
        EXPECT_EQ(r.out, "") << c.address;
        EXPECT_NE(r.err.find(std::string("cxvm: error: ") + c.message), std::string::npos) << r.err;
    }
    const auto noRoot = runProcess({test::cxvmBinary(), "pci-info", "--sysfs-root", "/nonexistent-sysfs"});
    EXPECT_EQ(noRoot.exitStatus, 1);
    EXPECT_NE(noRoot.err.find("no PCI bus in sysfs: '/nonexistent-sysfs/bus/pci/devices' does not exist"),
              std::string::npos)
        << noRoot.err;
    const auto noAddress = pciInfo(fake_, {"--snippet"});
    EXPECT_EQ(noAddress.exitStatus, 1);
    EXPECT_NE(noAddress.err.find("need a PCI address"), std::string::npos) << noAddress.err;
    const auto badName = pciInfo(fake_, {"00:1f.2", "--name", "my sata"});
    EXPECT_EQ(badName.exitStatus, 1);
    EXPECT_NE(badName.err.find("device name 'my sata'"), std::string::npos) << badName.err;
}

TEST_F(PciInfoCli, MalformedSysfsIsAnErrorNotACrash) {
    test::writeText(fake_.root() / "devices/pci0000:00/0000:00:1f.2/resource", "garbage\n");
    const auto r = pciInfo(fake_, {"00:1f.2"});
    EXPECT_EQ(r.exitStatus, 1);
    EXPECT_NE(r.err.find("0000:00:1f.2/resource: line 1"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace cxvm::host::pci
