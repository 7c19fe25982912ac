#pragma once
// A fake sysfs tree with known PCI functions, shaped like the real one: the function's
// directory under devices/pci<domain>:<bus>/, a bus/pci/devices/<address> symlink to it,
// `driver` and `iommu_group` symlinks, kernel/iommu_groups/<n>/devices/ links back.
// Removed at the end of the test.
#include <fmt/format.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace cxvm::host::pci::test {

// A whole text file (spec files, command output captured to a file).
inline std::string readText(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline std::filesystem::path sourceDir() { return CXVM_SOURCE_DIR; }
inline std::string cxvmBinary() { return std::string(CXVM_BINARY_DIR) + "/src/cli/cxvm"; }

class TempDir {
public:
    TempDir() {
        static int counter = 0;
        path_ = std::filesystem::temp_directory_path() /
                fmt::format("cxvm-passthrough-{}-{}", ::getpid(), counter++);
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

inline void writeText(const std::filesystem::path& p, std::string_view text) {
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
}

struct FakeBar {
    unsigned index = 0;
    std::uint64_t start = 0, end = 0, flags = 0;  // end inclusive, as in sysfs
};

struct FakeFunction {
    std::string address;  // "0000:00:1f.2"
    std::uint16_t vendor = 0x8086, device = 0x2922;
    std::uint32_t classCode = 0x010601;
    unsigned irq = 0;
    std::uint8_t interruptPin = 1, interruptLine = 0, headerType = 0;
    std::vector<FakeBar> bars;
    std::optional<std::string> driver;
    std::optional<unsigned> iommuGroup;
    std::vector<unsigned> msiIrqs;
    bool enabled = true;
};

// The resource file the kernel writes: 13 lines (BARs, ROM, SR-IOV BARs), unused zero.
inline std::string resourceText(const std::vector<FakeBar>& bars) {
    std::string s;
    for (unsigned i = 0; i < 13; ++i) {
        FakeBar b{i, 0, 0, 0};
        for (const auto& x : bars)
            if (x.index == i) b = x;
        s += fmt::format("0x{:016x} 0x{:016x} 0x{:016x}\n", b.start, b.end, b.flags);
    }
    return s;
}

class FakeSysfs {
public:
    [[nodiscard]] const std::filesystem::path& root() const { return dir_.path(); }

    std::filesystem::path add(const FakeFunction& f) {
        namespace fs = std::filesystem;
        const auto real = root() / "devices" / fmt::format("pci{}", f.address.substr(0, 7)) / f.address;
        fs::create_directories(real);
        writeText(real / "vendor", fmt::format("{:#06x}\n", f.vendor));
        writeText(real / "device", fmt::format("{:#06x}\n", f.device));
        writeText(real / "subsystem_vendor", fmt::format("{:#06x}\n", f.vendor));
        writeText(real / "subsystem_device", fmt::format("{:#06x}\n", 0x1234));
        writeText(real / "class", fmt::format("{:#08x}\n", f.classCode));
        writeText(real / "revision", "0x02\n");
        writeText(real / "irq", fmt::format("{}\n", f.irq));
        writeText(real / "driver_override", "(null)\n");
        writeText(real / "enable", f.enabled ? "1\n" : "0\n");
        writeText(real / "resource", resourceText(f.bars));
        std::string config(64, '\0');
        config[0] = static_cast<char>(f.vendor & 0xff);
        config[1] = static_cast<char>(f.vendor >> 8);
        config[0x0e] = static_cast<char>(f.headerType);
        config[0x3c] = static_cast<char>(f.interruptLine);
        config[0x3d] = static_cast<char>(f.interruptPin);
        writeText(real / "config", config);
        for (unsigned m : f.msiIrqs) writeText(real / "msi_irqs" / std::to_string(m), "msi\n");
        if (f.driver) {
            const auto drv = root() / "bus/pci/drivers" / *f.driver;
            fs::create_directories(drv);
            fs::create_directory_symlink(drv, real / "driver");
        }
        if (f.iommuGroup) {
            const auto group = root() / "kernel/iommu_groups" / std::to_string(*f.iommuGroup);
            fs::create_directories(group / "devices");
            fs::create_directory_symlink(group, real / "iommu_group");
            fs::create_directory_symlink(real, group / "devices" / f.address);
        }
        fs::create_directories(root() / "bus/pci/devices");
        fs::create_directory_symlink(fs::relative(real, root() / "bus/pci/devices"),
                                     root() / "bus/pci/devices" / f.address);
        return real;
    }

private:
    TempDir dir_;
};

// The tutorial's SATA controller in AHCI mode (camkes-x86-vm-tutorial, "Passthrough
// SATA"): its I/O BARs, its AHCI memory BAR and IRQ 19.
inline FakeFunction tutorialSata() {
    FakeFunction f;
    f.address = "0000:00:1f.2";
    f.irq = 19;
    f.interruptLine = 19;
    f.driver = "ahci";
    f.iommuGroup = 7;
    f.bars = {{0, 0x4088, 0x408f, 0x40101},
              {1, 0x4094, 0x4097, 0x40101},
              {2, 0x4080, 0x4087, 0x40101},
              {4, 0x4060, 0x407f, 0x40101},
              {5, 0xc0713000, 0xc07137ff, 0x40200}};
    return f;
}

// The tutorial's Ethernet5 (bus 5, device 0): an I/O BAR, two memory BARs, IRQ 0x11.
inline FakeFunction tutorialEthernet() {
    FakeFunction f;
    f.address = "0000:05:00.0";
    f.vendor = 0x8086;
    f.device = 0x10d3;
    f.classCode = 0x020000;
    f.irq = 0x11;
    f.driver = "e1000e";
    f.iommuGroup = 12;
    f.bars = {{0, 0xc0500000, 0xc051ffff, 0x40200},
              {2, 0x3000, 0x301f, 0x40101},
              {3, 0xc0520000, 0xc0523fff, 0x40200}};
    return f;
}

}  // namespace cxvm::host::pci::test
