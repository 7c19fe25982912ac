// Passthrough setup before any VFIO call: the spec's lists read from the ADL model
// (system/VmPassthrough), checked against the host function's sysfs resources
// (hw/vfio/PassthroughSpec), and VfioSession's errors for a host that cannot pass the
// function through (no IOMMU, not bound to vfio-pci, a group that is not viable, no
// /dev/vfio/vfio), each on a fake sysfs tree.
#include "FakeSysfs.h"
#include "adl/Frontend.h"
#include "hw/vfio/PassthroughSpec.h"
#include "hw/vfio/VfioSession.h"
#include "system/VmInstanceConfig.h"
#include "system/VmPassthrough.h"
#include "util/Error.h"
#include "util/Subprocess.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace cxvm::hw::vfio {
namespace {

namespace fs = std::filesystem;
using host::pci::test::FakeFunction;
using host::pci::test::FakeSysfs;
using host::pci::test::TempDir;

using host::pci::test::readText;

// apps/minimal with `snippet` in its VM configuration block; returns the spec file.
fs::path appWithSnippet(const fs::path& dir, const std::string& snippet) {
    const auto app = dir / "minimal";
    fs::copy(host::pci::test::sourceDir() / "apps/minimal", app, fs::copy_options::recursive);
    const auto spec = app / "minimal.camkes";
    std::string text = readText(spec);
    const std::string anchor = "        vm0.iospace_domain = 0x0f;\n";
    const auto at = text.find(anchor);
    EXPECT_NE(at, std::string::npos) << "apps/minimal/minimal.camkes changed shape";
    text.insert(at + anchor.size(), snippet);
    std::ofstream(spec, std::ios::trunc) << text;
    return spec;
}

// The line of `needle` in `file` (1-based).
int lineOf(const fs::path& file, const std::string& needle) {
    std::istringstream in(readText(file));
    std::string line;
    for (int n = 1; std::getline(in, line); ++n)
        if (line.find(needle) != std::string::npos) return n;
    return -1;
}

std::vector<PassthroughSpec> specsOf(const fs::path& spec) {
    const auto loaded = adl::loadSpec(adl::findAppSpec(spec.parent_path()));
    if (!loaded.ok()) {
        std::string all;
        for (const auto& d : loaded.diagnostics) all += adl::formatDiagnostic(d) + "\n";
        throw Error(all);
    }
    const auto* vm0 = loaded.system->findInstance("vm.vm0");
    if (!vm0) throw Error("no vm.vm0");
    return system::vmPassthrough(*vm0);
}

// The tutorial's Ethernet listing (tests/adl/specs/seed/cma34cr_ethernet), for the fake
// tree's tutorialEthernet(): BAR0 0xc0500000+0x20000, BAR2 I/O 0x3000-0x301f, BAR3
// 0xc0520000+0x4000, IRQ 0x11.
const char* const kEthernet = R"(
        vm0_config.pci_devices_iospace = 1;
        vm0_config.ioports = [
            {"start":0x3000, "end":0x3020, "pci_device":0, "name":"Ethernet5"},
        ];
        vm0_config.pci_devices = [
            {
                "name":"Ethernet5",
                "bus":5,
                "dev":0,
                "fun":0,
                "irq":"Ethernet5",
                "memory":[
                    {"paddr":0xc0500000, "size":0x20000, "page_bits":12},
                    {"paddr":0xc0520000, "size":0x4000, "page_bits":12},
                ],
            },
        ];
        vm0_config.irqs = [
            {"name":"Ethernet5", "source":0x11, "level_trig":1, "active_low":1, "dest":10},
        ];
)";

std::string replaced(std::string s, const std::string& from, const std::string& to) {
    const auto at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) s.replace(at, from.size(), to);
    return s;
}

std::string passthroughArgOf(const PassthroughSpec& s) { return system::passthroughArg(s); }

std::string errorOf(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    ADD_FAILURE() << "no error";
    return {};
}

#define EXPECT_HAS(haystack, needle) \
    EXPECT_NE((haystack).find(needle), std::string::npos) << "missing: " << (needle) << "\nin: " << (haystack)

TEST(PassthroughSpec, TheTutorialsEthernetListingReadsAndMatchesItsHost) {
    TempDir dir;
    const auto file = appWithSnippet(dir.path(), kEthernet);
    const auto specs = specsOf(file);
    ASSERT_EQ(specs.size(), 1u);
    const PassthroughSpec& s = specs[0];
    EXPECT_EQ(s.vm, "vm0");
    EXPECT_EQ(s.name, "Ethernet5");
    EXPECT_EQ(s.address.toString(), "0000:05:00.0");
    EXPECT_EQ(s.origin, fmt::format("{}:{}:13", file.string(), lineOf(file, "\"name\":\"Ethernet5\",") - 1));
    ASSERT_EQ(s.memory.size(), 2u);
    EXPECT_EQ(s.memory[1].paddr, 0xc0520000u);
    EXPECT_EQ(s.memory[1].size, 0x4000u);
    ASSERT_EQ(s.ioports.size(), 1u);
    EXPECT_EQ(s.ioports[0].start, 0x3000u);
    EXPECT_EQ(s.ioports[0].end, 0x3020u);
    ASSERT_TRUE(s.irq);
    EXPECT_EQ(s.irq->source, 0x11u);
    EXPECT_EQ(s.irq->dest, 10u);

    FakeSysfs fake;
    fake.add(host::pci::test::tutorialEthernet());
    const auto host = host::pci::PciSysfs(fake.root()).device(s.address);
    EXPECT_NO_THROW(checkAgainstHost(s, host));
    const auto bars = grantedBars(s, host);
    ASSERT_EQ(bars.size(), 3u);
    EXPECT_EQ(bars[0].index, 0u);
    EXPECT_EQ(bars[1].index, 2u);
    EXPECT_TRUE(bars[1].io);
    EXPECT_EQ(bars[2].index, 3u);

    // The command-line word for the VM instance process carries all of it.
    const auto back = system::parsePassthroughArg(system::passthroughArg(s));
    EXPECT_EQ(back.address, s.address);
    EXPECT_EQ(back.origin, s.origin);
    ASSERT_EQ(back.memory.size(), 2u);
    EXPECT_EQ(back.memory[1].origin, s.memory[1].origin);
    ASSERT_EQ(back.ioports.size(), 1u);
    EXPECT_EQ(back.ioports[0].end, 0x3020u);
    ASSERT_TRUE(back.irq);
    EXPECT_EQ(back.irq->dest, 10u);
    EXPECT_EQ(back.irq->sourceOrigin, s.irq->sourceOrigin);

    // Through a VM instance process's command line (system runs): --pci-passthrough.
    system::VmInstanceConfig c;
    c.instance = "vm.vm0";
    c.kernel = "/guest/bzImage";
    c.passthrough = specs;
    const auto words = c.args();
    std::vector<std::string_view> views(words.begin(), words.end());
    const auto parsed = system::VmInstanceConfig::parse(views);
    ASSERT_EQ(parsed.passthrough.size(), 1u);
    EXPECT_EQ(passthroughArgOf(parsed.passthrough[0]), system::passthroughArg(s));
    const std::array<std::string_view, 6> bad{"--instance", "vm.vm0", "--kernel", "k", "--pci-passthrough", "x"};
    EXPECT_THROW((void)system::VmInstanceConfig::parse(bad), Error);
}

TEST(PassthroughSpec, BdfWithADomain) {
    TempDir dir;
    const auto file = appWithSnippet(
        dir.path(), replaced(kEthernet, "\"bus\":5,\n                \"dev\":0,\n                \"fun\":0,",
                             "\"bdf\":\"0001:05:00.0\","));
    const auto specs = specsOf(file);
    ASSERT_EQ(specs.size(), 1u);
    EXPECT_EQ(specs[0].address.domain, 1);
    EXPECT_EQ(specs[0].address.bus, 5);
}

TEST(PassthroughSpec, ShapeErrorsNameTheirPlace) {
    {
        TempDir dir;
        const auto file = appWithSnippet(dir.path(), replaced(kEthernet, "\"irq\":\"Ethernet5\"", "\"irq\":\"Eth\""));
        const auto e = errorOf([&] { (void)specsOf(file); });
        EXPECT_HAS(e, fmt::format("{}:{}:", file.string(), lineOf(file, "\"irq\":\"Eth\"")));
        EXPECT_HAS(e, "irq \"Eth\": no vm.vm0.irqs entry has that name");
    }
    {
        TempDir dir;
        const auto file = appWithSnippet(
            dir.path(), replaced(kEthernet, "\"pci_device\":0, \"name\":\"Ethernet5\"", "\"pci_device\":3, \"name\":\"X\""));
        const auto e = errorOf([&] { (void)specsOf(file); });
        EXPECT_HAS(e, fmt::format("{}:{}:", file.string(), lineOf(file, "\"pci_device\":3")));
        EXPECT_HAS(e, "no vm.vm0.pci_devices entry is named \"X\" or is device 0x3");
    }
    {
        TempDir dir;
        const auto file = appWithSnippet(dir.path(), replaced(kEthernet, "\"bus\":5,", "\"bdf\":\"05:00.9\","));
        const auto e = errorOf([&] { (void)specsOf(file); });
        EXPECT_HAS(e, fmt::format("{}:{}:", file.string(), lineOf(file, "\"bdf\"")));
        EXPECT_HAS(e, "has both \"bdf\" and bus/dev/fun");
    }
}

// The spec written for another machine: each mismatch names the spec's place and
// what sysfs has.
TEST(PassthroughSpec, ValuesThatAreNotTheHostsResourcesAreErrors) {
    FakeSysfs fake;
    fake.add(host::pci::test::tutorialEthernet());
    const auto host = host::pci::PciSysfs(fake.root()).device(host::pci::PciAddress::parse("05:00.0"));
    PassthroughSpec s;
    s.vm = "vm0";
    s.name = "Ethernet5";
    s.address = host.address;
    s.origin = "app.camkes:40:13";
    s.memory = {{0xc0500000, 0x20000, "app.camkes:48:21"}, {0xc0530000, 0x4000, "app.camkes:49:21"}};
    auto e = errorOf([&] { checkAgainstHost(s, host); });
    EXPECT_HAS(e, "app.camkes:49:21: error: vm0 pci_devices \"Ethernet5\" (0000:05:00.0): memory "
                  "{\"paddr\":0xc0530000, \"size\":0x4000} is not a memory BAR of the host function");
    EXPECT_HAS(e, "BAR0 memory 0xc0500000 size 0x20000, BAR3 memory 0xc0520000 size 0x4000");

    s.memory.pop_back();
    s.ioports = {{0x3000, 0x3010, "app.camkes:31:13"}};
    e = errorOf([&] { checkAgainstHost(s, host); });
    EXPECT_HAS(e, "app.camkes:31:13: error:");
    EXPECT_HAS(e, "ioports {\"start\":0x3000, \"end\":0x3010} is not an I/O BAR");
    EXPECT_HAS(e, "BAR2 I/O 0x3000-0x301f (\"start\":0x3000, \"end\":0x3020)");

    s.ioports = {{0x3000, 0x3020, "app.camkes:31:13"}};
    s.irq = PassthroughIrq{"Ethernet5", 19, 10, true, true, "app.camkes:64:13", "app.camkes:64:46",
                           "app.camkes:64:91"};
    e = errorOf([&] { checkAgainstHost(s, host); });
    EXPECT_HAS(e, "app.camkes:64:46: error:");
    EXPECT_HAS(e, "\"source\":19, but sysfs /sys/bus/pci/devices/0000:05:00.0/irq is 17");

    FakeFunction idle = host::pci::test::tutorialEthernet();  // no driver enabled it: irq is firmware's
    idle.enabled = false;
    FakeSysfs fakeIdle;
    fakeIdle.add(idle);
    EXPECT_NO_THROW(checkAgainstHost(s, host::pci::PciSysfs(fakeIdle.root()).device(s.address)));

    s.irq->source = 17;
    s.irq->dest = 2;
    e = errorOf([&] { checkAgainstHost(s, host); });
    EXPECT_HAS(e, "app.camkes:64:91: error:");
    EXPECT_HAS(e, "\"dest\":2");

    s.irq->dest = 10;
    EXPECT_NO_THROW(checkAgainstHost(s, host));

    FakeFunction noPin = host::pci::test::tutorialEthernet();
    noPin.address = "0000:06:00.0";
    noPin.interruptPin = 0;
    FakeSysfs fake2;
    fake2.add(noPin);
    s.address = host::pci::PciAddress::parse("06:00.0");
    const auto host2 = host::pci::PciSysfs(fake2.root()).device(s.address);
    e = errorOf([&] { checkAgainstHost(s, host2); });
    EXPECT_HAS(e, "app.camkes:64:13: error:");
    EXPECT_HAS(e, "no legacy interrupt pin");
}

PassthroughSpec ethernetSpec(const std::string& address) {
    PassthroughSpec s;
    s.vm = "vm0";
    s.name = "Ethernet5";
    s.address = host::pci::PciAddress::parse(address);
    s.origin = "app.camkes:40:13";
    s.memory = {{0xc0500000, 0x20000, "app.camkes:48:21"}};
    return s;
}

TEST(VfioSession, NotBoundToVfioPciSaysTheCommands) {
    FakeSysfs fake;
    fake.add(host::pci::test::tutorialEthernet());  // bound to e1000e
    VfioSession session({fake.root(), "/nonexistent/dev/vfio"});
    const auto e = errorOf([&] { (void)session.preflight(ethernetSpec("05:00.0")); });
    EXPECT_HAS(e, "app.camkes:40:13: error: vm0 pci_devices \"Ethernet5\" (0000:05:00.0): 0000:05:00.0 is bound to "
                  "e1000e, not to vfio-pci; bind it (as root), which unbinds it from e1000e:");
    const std::string dev = (fake.root() / "bus/pci/devices/0000:05:00.0").string();
    EXPECT_HAS(e, "\n    modprobe vfio-pci\n    echo 0000:05:00.0 > " + dev + "/driver/unbind\n    echo vfio-pci > " +
                      dev + "/driver_override\n    echo 0000:05:00.0 > " +
                      (fake.root() / "bus/pci/drivers_probe").string());
}

TEST(VfioSession, NoIommuSaysHowToTurnItOn) {
    FakeSysfs fake;
    FakeFunction f = host::pci::test::tutorialEthernet();
    f.iommuGroup.reset();
    f.driver = "vfio-pci";
    fake.add(f);
    VfioSession session({fake.root(), "/nonexistent/dev/vfio"});
    const auto e = errorOf([&] { (void)session.preflight(ethernetSpec("05:00.0")); });
    EXPECT_HAS(e, "app.camkes:40:13: error:");
    EXPECT_HAS(e, "no IOMMU translates 0000:05:00.0");
    EXPECT_HAS(e, "kernel/iommu_groups is empty: the host has no IOMMU groups");
    EXPECT_HAS(e, "intel_iommu=on");
}

TEST(VfioSession, AGroupThatIsNotViableNamesTheOtherDevices) {
    FakeSysfs fake;
    FakeFunction f = host::pci::test::tutorialEthernet();
    f.driver = "vfio-pci";
    fake.add(f);
    FakeFunction other = host::pci::test::tutorialEthernet();
    other.address = "0000:05:00.1";
    other.driver = "snd_hda_intel";
    fake.add(other);  // the same group, 12
    VfioSession session({fake.root(), "/nonexistent/dev/vfio"});
    const auto e = errorOf([&] { (void)session.preflight(ethernetSpec("05:00.0")); });
    EXPECT_HAS(e, "app.camkes:40:13: error:");
    EXPECT_HAS(e, "IOMMU group 12 is not viable");
    EXPECT_HAS(e, "\n    0000:05:00.1  bound to snd_hda_intel: unbind it or bind it to vfio-pci");
    EXPECT_EQ(e.find("0000:05:00.0  "), std::string::npos) << "the function itself is fine: " << e;
}

TEST(VfioSession, NoVfioContainerOrGroupDevice) {
    FakeSysfs fake;
    FakeFunction f = host::pci::test::tutorialEthernet();
    f.driver = "vfio-pci";
    fake.add(f);
    VfioSession session({fake.root(), "/nonexistent/dev/vfio"});
    EXPECT_NO_THROW((void)session.preflight(ethernetSpec("05:00.0")));
    const auto e = errorOf([&] { (void)session.open(ethernetSpec("05:00.0")); });
    EXPECT_HAS(e, "app.camkes:40:13: error: vm0 pci_devices \"Ethernet5\" (0000:05:00.0): VFIO container "
                  "'/nonexistent/dev/vfio/vfio' (modprobe vfio-pci");
}

TEST(VfioSession, AMissingFunctionIsAnErrorAtTheEntry) {
    FakeSysfs fake;
    fake.add(host::pci::test::tutorialEthernet());
    VfioSession session({fake.root(), "/nonexistent/dev/vfio"});
    const auto e = errorOf([&] { (void)session.preflight(ethernetSpec("07:00.0")); });
    EXPECT_HAS(e, "app.camkes:40:13: error:");
    EXPECT_HAS(e, "0000:07:00.0");
}

// `cxvm run APP` with a pci_devices entry this host does not have: exit 1, the error at
// the entry's file:line:col, before anything boots.
TEST(PassthroughRun, AnAbsentHostFunctionStopsTheRunAtItsEntry) {
    TempDir dir;
    const auto file = appWithSnippet(dir.path(), R"(
        vm0_config.pci_devices = [
            {"name":"Ethernet", "bdf":"ffff:fe:1f.7", "memory":[]},
        ];
)");
    const auto r = runProcess({host::pci::test::cxvmBinary(), "run", file.parent_path().string(), "--engine", "interp"});
    if (r.exitStatus == 1 && r.err.find("pci_devices") == std::string::npos &&
        (r.err.find("kit") != std::string::npos || r.err.find("setup") != std::string::npos))
        GTEST_SKIP() << "no default guest kernel (./setup): " << r.err;
    EXPECT_EQ(r.exitStatus, 1) << r.err;
    EXPECT_HAS(r.err, fmt::format("{}:{}:13: error: vm0 pci_devices \"Ethernet\" (ffff:fe:1f.7): no PCI function "
                                     "ffff:fe:1f.7 on this host",
                                     file.string(), lineOf(file, "ffff:fe:1f.7")));
}

// The same entry in a system (apps/minimal with a second VM: each VM is a sandboxed
// process, docs/passthrough.md "System runs"): no longer refused for being in a system;
// runApp checks it against sysfs before any component starts and stops at the entry.
TEST(PassthroughRun, InASystemTheEntryIsCheckedBeforeAnythingStarts) {
    TempDir dir;
    const auto file = appWithSnippet(dir.path(), R"(
        vm0_config.pci_devices = [
            {"name":"Ethernet", "bdf":"ffff:fe:1f.7", "memory":[]},
        ];
        vm1.guest_ram_mb = 64;
        vm1.kernel_image = KERNEL_IMAGE;
        vm1.initrd_image = ROOTFS;
)");
    std::string text = readText(file);
    text = replaced(text, "        VM_PER_VM_COMP_DEF(0)\n", "        VM_PER_VM_COMP_DEF(0)\n        VM_PER_VM_COMP_DEF(1)\n");
    text = replaced(text, "        VM_PER_VM_CONFIG_DEF(0, 2)\n",
                    "        VM_PER_VM_CONFIG_DEF(0, 2)\n        VM_PER_VM_CONFIG_DEF(1, 2)\n");
    text = replaced(text, "component VM {", "component Init1 {\n    VM_INIT_DEF()\n}\n\ncomponent VM {");
    std::ofstream(file, std::ios::trunc) << text;
    const auto r = runProcess({host::pci::test::cxvmBinary(), "run", file.parent_path().string(), "--engine", "interp",
                               "--log-dir", (dir.path() / "logs").string()});
    if (r.exitStatus == 1 && r.err.find("pci_devices") == std::string::npos &&
        (r.err.find("kit") != std::string::npos || r.err.find("setup") != std::string::npos))
        GTEST_SKIP() << "no default guest kernel (./setup): " << r.err;
    EXPECT_EQ(r.exitStatus, 1) << r.err;
    EXPECT_EQ(r.err.find("not yet in a system"), std::string::npos) << r.err;
    EXPECT_HAS(r.err, fmt::format("{}:{}:13: error: vm0 pci_devices \"Ethernet\" (ffff:fe:1f.7): no PCI function "
                                  "ffff:fe:1f.7 on this host",
                                  file.string(), lineOf(file, "ffff:fe:1f.7")));
    // Nothing started: no VM instance wrote a console log.
    EXPECT_FALSE(fs::exists(dir.path() / "logs" / "vm.vm0.console.log"));
}

}  // namespace
}  // namespace cxvm::hw::vfio
