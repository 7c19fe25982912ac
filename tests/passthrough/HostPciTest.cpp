// `cxvm pci-info` on this machine's own PCI functions: every value it prints matches
// sysfs as read here, independently (plain file reads, sscanf, readlink).
#include "FakeSysfs.h"
#include "JsonFlat.h"
#include "util/Subprocess.h"

#include <gtest/gtest.h>

#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

namespace cxvm::host::pci {
namespace {

namespace fs = std::filesystem;
using test::q;

const fs::path kDevices = "/sys/bus/pci/devices";

std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::uint64_t number(const fs::path& p, int base) { return std::stoull(slurp(p), nullptr, base); }

std::string linkName(const fs::path& p) {
    std::error_code ec;
    if (!fs::is_symlink(p, ec)) return "null";
    return q(fs::read_symlink(p).filename().string());
}

std::vector<std::string> hostFunctions() {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(kDevices, ec)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

struct Bar {
    unsigned index;
    std::uint64_t start, size;
    bool io;
};

// BARs 0-5 with an address assigned and I/O or memory type.
std::vector<Bar> bars(const fs::path& dev) {
    std::vector<Bar> out;
    std::FILE* f = std::fopen((dev / "resource").c_str(), "r");
    if (!f) return out;
    unsigned long long start, end, flags;
    for (unsigned i = 0; i < 6 && std::fscanf(f, "%llx %llx %llx", &start, &end, &flags) == 3; ++i) {
        if ((start == 0 && end == 0) || (flags & 0x30000000)) continue;
        if (flags & 0x100) out.push_back({i, start, end - start + 1, true});
        else if (flags & 0x200) out.push_back({i, start, end - start + 1, false});
    }
    std::fclose(f);
    return out;
}

ProcessResult pciInfo(std::vector<std::string> args) {
    std::vector<std::string> argv{test::cxvmBinary(), "pci-info"};
    argv.insert(argv.end(), args.begin(), args.end());
    return runProcess(argv);
}

TEST(HostPci, ListMatchesSysfs) {
    const auto functions = hostFunctions();
    if (functions.empty()) GTEST_SKIP() << "this machine has no PCI functions in " << kDevices;
    const auto r = pciInfo({"--json"});
    ASSERT_EQ(r.exitStatus, 0) << r.err;
    const auto j = test::flattenJson(r.out);
    ASSERT_EQ(j.at("#"), std::to_string(functions.size()));
    for (std::size_t k = 0; k < functions.size(); ++k) {
        const auto dev = kDevices / functions[k];
        const std::string p = std::to_string(k) + ".";
        EXPECT_EQ(j.at(p + "address"), q(functions[k]));
        EXPECT_EQ(j.at(p + "vendor"), std::to_string(number(dev / "vendor", 16)));
        EXPECT_EQ(j.at(p + "device"), std::to_string(number(dev / "device", 16)));
        EXPECT_EQ(j.at(p + "class"), std::to_string(number(dev / "class", 16)));
        EXPECT_EQ(j.at(p + "driver"), linkName(dev / "driver"));
        const auto group = linkName(dev / "iommu_group");
        EXPECT_EQ(j.at(p + "iommu_group"), group == "null" ? group : group.substr(1, group.size() - 2));
    }
    const auto text = pciInfo({});
    ASSERT_EQ(text.exitStatus, 0) << text.err;
    for (const auto& fn : functions) {
        const auto dev = kDevices / fn;
        char ids[16];
        std::snprintf(ids, sizeof ids, "%04" PRIx64 ":%04" PRIx64, number(dev / "vendor", 16),
                      number(dev / "device", 16));
        EXPECT_NE(text.out.find(fn + "  " + ids), std::string::npos) << text.out;
    }
}

TEST(HostPci, EachFunctionMatchesSysfs) {
    const auto functions = hostFunctions();
    if (functions.empty()) GTEST_SKIP() << "this machine has no PCI functions in " << kDevices;
    for (const auto& fn : functions) {
        SCOPED_TRACE(fn);
        const auto dev = kDevices / fn;
        const auto r = pciInfo({fn, "--json"});
        ASSERT_EQ(r.exitStatus, 0) << r.err;
        const auto j = test::flattenJson(r.out);
        EXPECT_EQ(j.at("address"), q(fn));
        EXPECT_EQ(j.at("vendor"), std::to_string(number(dev / "vendor", 16)));
        EXPECT_EQ(j.at("device"), std::to_string(number(dev / "device", 16)));
        EXPECT_EQ(j.at("class"), std::to_string(number(dev / "class", 16)));
        EXPECT_EQ(j.at("irq"), std::to_string(number(dev / "irq", 10)));
        EXPECT_EQ(j.at("driver"), linkName(dev / "driver"));
        const std::string config = slurp(dev / "config");
        if (config.size() >= 64) {
            EXPECT_EQ(j.at("interrupt_pin"), std::to_string(static_cast<unsigned char>(config[0x3d])));
            EXPECT_EQ(j.at("header_type"), std::to_string(static_cast<unsigned char>(config[0x0e]) & 0x7f));
        }
        std::set<std::string> msi;
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(dev / "msi_irqs", ec)) msi.insert(e.path().filename().string());
        EXPECT_EQ(j.at("msi_irqs#"), std::to_string(msi.size()));

        const auto expected = bars(dev);
        ASSERT_EQ(j.at("bars#"), std::to_string(expected.size()));
        std::size_t io = 0, mem = 0;
        for (std::size_t k = 0; k < expected.size(); ++k) {
            const auto& b = expected[k];
            const std::string p = "bars." + std::to_string(k) + ".";
            EXPECT_EQ(j.at(p + "index"), std::to_string(b.index));
            EXPECT_EQ(j.at(p + "kind"), q(b.io ? "io" : "memory"));
            EXPECT_EQ(j.at(p + "start"), std::to_string(b.start));
            EXPECT_EQ(j.at(p + "size"), std::to_string(b.size));
            // ... and the spec entries made from them.
            if (b.io) {
                const std::string s = "spec.ioports." + std::to_string(io++) + ".";
                EXPECT_EQ(j.at(s + "start"), std::to_string(b.start));
                EXPECT_EQ(j.at(s + "end"), std::to_string(b.start + b.size));
            } else {
                const std::string s = "spec.pci_device.memory." + std::to_string(mem++) + ".";
                EXPECT_EQ(j.at(s + "paddr"), std::to_string(b.start));
                EXPECT_EQ(j.at(s + "size"), std::to_string(b.size));
            }
        }
        EXPECT_EQ(j.at("spec.ioports#"), std::to_string(io));
        EXPECT_EQ(j.at("spec.pci_device.memory#"), std::to_string(mem));
        const unsigned bus = static_cast<unsigned>(std::stoul(fn.substr(5, 2), nullptr, 16));
        const unsigned slot = static_cast<unsigned>(std::stoul(fn.substr(8, 2), nullptr, 16));
        EXPECT_EQ(j.at("spec.pci_device.bus"), std::to_string(bus));
        EXPECT_EQ(j.at("spec.pci_device.dev"), std::to_string(slot));
        EXPECT_EQ(j.at("spec.pci_device.fun"), fn.substr(11, 1));

        // The text form names the same function, ids and driver.
        const auto text = pciInfo({fn});
        ASSERT_EQ(text.exitStatus, 0) << text.err;
        char ids[16];
        std::snprintf(ids, sizeof ids, "[%04" PRIx64 ":%04" PRIx64 "]", number(dev / "vendor", 16),
                      number(dev / "device", 16));
        EXPECT_NE(text.out.find(fn + "  "), std::string::npos) << text.out;
        EXPECT_NE(text.out.find(ids), std::string::npos) << text.out;
        const auto drv = linkName(dev / "driver");
        EXPECT_NE(text.out.find("driver       " + (drv == "null" ? "(none)" : drv.substr(1, drv.size() - 2))),
                  std::string::npos)
            << text.out;
    }
}

}  // namespace
}  // namespace cxvm::host::pci
