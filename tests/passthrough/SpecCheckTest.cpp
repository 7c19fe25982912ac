// pci-info's spec entries, pasted into a tutorial-shaped app, pass `cxvm check`, and
// the values the ADL model holds are the ones pci-info printed.
#include "FakeSysfs.h"
#include "adl/Frontend.h"
#include "host/pci/PciAddress.h"
#include "util/Subprocess.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace cxvm::host::pci {
namespace {

using test::readText;

// Copies apps/minimal (the tutorial's minimal app) to `dir` and pastes `snippet` into
// the VM's configuration block, after its last setting.
std::filesystem::path appWithSnippet(const std::filesystem::path& dir, const std::string& snippet) {
    namespace fs = std::filesystem;
    const auto app = dir / "minimal";
    fs::copy(test::sourceDir() / "apps/minimal", app, fs::copy_options::recursive);
    const auto spec = app / "minimal.camkes";
    std::string text = readText(spec);
    const std::string anchor = "        vm0.iospace_domain = 0x0f;\n";
    const auto at = text.find(anchor);
    EXPECT_NE(at, std::string::npos) << "apps/minimal/minimal.camkes changed shape";
    text.insert(at + anchor.size(), "\n" + snippet);
    std::ofstream(spec, std::ios::trunc) << text;
    return app;
}

ProcessResult pciInfo(const test::FakeSysfs& fake, std::vector<std::string> args) {
    std::vector<std::string> argv{test::cxvmBinary(), "pci-info", "--sysfs-root", fake.root().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return runProcess(argv);
}

const adl::Value& attr(const adl::Instance& i, const std::string& name) {
    static const adl::Value none;
    const auto it = i.attributes.find(name);
    EXPECT_NE(it, i.attributes.end()) << name;
    return it == i.attributes.end() ? none : it->second;
}

std::int64_t field(const adl::Value& dict, const char* key) {
    const auto* v = dict.get(key);
    EXPECT_NE(v, nullptr) << key;
    return v ? v->i : -1;
}

std::string strField(const adl::Value& dict, const char* key) {
    const auto* v = dict.get(key);
    EXPECT_NE(v, nullptr) << key;
    return v ? v->s : "";
}

void checkRoundTrip(const test::FakeFunction& f, const std::string& name, unsigned dest) {
    test::FakeSysfs fake;
    fake.add(f);
    const auto r = pciInfo(fake, {f.address, "--snippet", "--name", name, "--dest", std::to_string(dest)});
    ASSERT_EQ(r.exitStatus, 0) << r.err;
    test::TempDir tmp;
    const auto app = appWithSnippet(tmp.path(), r.out);

    const auto check = runProcess({test::cxvmBinary(), "check", app.string()});
    EXPECT_EQ(check.exitStatus, 0) << check.err << "\n" << readText(app / "minimal.camkes");
    EXPECT_EQ(check.err, "");

    const auto loaded = adl::loadSpec(app / "vm.camkes");
    ASSERT_TRUE(loaded.ok());
    const auto* vm0 = loaded.system->findInstance("vm.vm0");
    ASSERT_NE(vm0, nullptr);
    EXPECT_EQ(attr(*vm0, "pci_devices_iospace").i, 1);

    // The values pci-info printed come from the fake tree: compare with what was put in.
    std::vector<test::FakeBar> io, mem;
    for (const auto& b : f.bars) (b.flags & 0x100 ? io : mem).push_back(b);
    const auto address = PciAddress::parse(f.address);
    const auto& ioports = attr(*vm0, "ioports");
    ASSERT_EQ(ioports.list.size(), io.size());
    for (std::size_t k = 0; k < io.size(); ++k) {
        EXPECT_EQ(field(ioports.list[k], "start"), static_cast<std::int64_t>(io[k].start));
        EXPECT_EQ(field(ioports.list[k], "end"), static_cast<std::int64_t>(io[k].end + 1));
        EXPECT_EQ(field(ioports.list[k], "pci_device"), address.device);
        EXPECT_EQ(strField(ioports.list[k], "name"), name);
    }
    const auto& devices = attr(*vm0, "pci_devices");
    ASSERT_EQ(devices.list.size(), 1u);
    const auto& dev = devices.list[0];
    EXPECT_EQ(strField(dev, "name"), name);
    EXPECT_EQ(field(dev, "bus"), address.bus);
    EXPECT_EQ(field(dev, "dev"), address.device);
    EXPECT_EQ(field(dev, "fun"), address.function);
    EXPECT_EQ(strField(dev, "irq"), name);
    const auto* memory = dev.get("memory");
    ASSERT_NE(memory, nullptr);
    ASSERT_EQ(memory->list.size(), mem.size());
    for (std::size_t k = 0; k < mem.size(); ++k) {
        EXPECT_EQ(static_cast<std::uint64_t>(field(memory->list[k], "paddr")), mem[k].start);
        EXPECT_EQ(static_cast<std::uint64_t>(field(memory->list[k], "size")), mem[k].end - mem[k].start + 1);
        EXPECT_EQ(field(memory->list[k], "page_bits"), 12);
    }
    const auto& irqs = attr(*vm0, "irqs");
    ASSERT_EQ(irqs.list.size(), 1u);
    EXPECT_EQ(strField(irqs.list[0], "name"), name);
    EXPECT_EQ(field(irqs.list[0], "source"), f.irq);
    EXPECT_EQ(field(irqs.list[0], "level_trig"), 1);
    EXPECT_EQ(field(irqs.list[0], "active_low"), 1);
    EXPECT_EQ(field(irqs.list[0], "dest"), dest);
}

TEST(SpecCheck, SataSnippetPassesCheckAndRoundTrips) { checkRoundTrip(test::tutorialSata(), "SATA", 11); }

TEST(SpecCheck, EthernetSnippetPassesCheckAndRoundTrips) {
    checkRoundTrip(test::tutorialEthernet(), "Ethernet5", 10);
}

TEST(SpecCheck, SixtyFourBitBarAboveFourGiBRoundTrips) {
    test::FakeFunction f = test::tutorialEthernet();
    f.address = "0000:3a:00.1";
    f.bars = {{0, 0x38bffe000000, 0x38bffeffffff, 0x14220c}, {4, 0xe000, 0xe01f, 0x40101}};
    checkRoundTrip(f, "Nic", 9);
}

// --spec: the suggested dest avoids what the spec's VM already routes.
TEST(SpecCheck, SuggestedDestAvoidsTheSpecsIrqs) {
    test::FakeSysfs fake;
    fake.add(test::tutorialSata());
    fake.add(test::tutorialEthernet());
    const auto sata = pciInfo(fake, {"00:1f.2", "--snippet"});
    ASSERT_EQ(sata.exitStatus, 0) << sata.err;
    EXPECT_NE(sata.out.find("\"dest\":11}"), std::string::npos) << sata.out;
    test::TempDir tmp;
    const auto app = appWithSnippet(tmp.path(), sata.out);
    const auto eth = pciInfo(fake, {"05:00.0", "--snippet", "--spec", app.string()});
    ASSERT_EQ(eth.exitStatus, 0) << eth.err;
    EXPECT_NE(eth.out.find("\"dest\":10}"), std::string::npos) << eth.out;
    const auto bad = pciInfo(fake, {"05:00.0", "--spec", app.string(), "--vm", "3"});
    EXPECT_EQ(bad.exitStatus, 1);
    EXPECT_NE(bad.err.find("no VM instance vm3"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace cxvm::host::pci
