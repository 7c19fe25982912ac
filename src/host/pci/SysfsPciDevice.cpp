#include "host/pci/SysfsPciDevice.h"

#include "host/pci/PciClass.h"
#include "host/pci/SysfsFile.h"
#include "util/Error.h"
#include "util/File.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <system_error>

namespace cxvm::host::pci {
namespace {

constexpr std::size_t kConfigHeaderType = 0x0e, kConfigInterruptLine = 0x3c, kConfigInterruptPin = 0x3d;

template <typename T>
T narrow(std::uint64_t v, const std::filesystem::path& path) {
    if (v > std::numeric_limits<T>::max())
        throw Error::format("'{}': value {:#x} is out of range", path.string(), v);
    return static_cast<T>(v);
}

std::vector<unsigned> readMsiIrqs(const std::filesystem::path& dir) {
    std::vector<unsigned> irqs;
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) return irqs;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
        const std::string name = e.path().filename().string();
        unsigned v = 0;
        auto [p, err] = std::from_chars(name.data(), name.data() + name.size(), v);
        if (err == std::errc() && p == name.data() + name.size()) irqs.push_back(v);
    }
    if (ec) throw Error::format("cannot list '{}': {}", dir.string(), ec.message());
    std::sort(irqs.begin(), irqs.end());
    return irqs;
}

}  // namespace

SysfsPciDevice SysfsPciDevice::read(const std::filesystem::path& dir, const PciAddress& address) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
        throw Error::format("no PCI function {}: '{}' does not exist", address.toString(), dir.string());
    SysfsPciDevice d;
    d.address = address;
    d.vendor = narrow<std::uint16_t>(readSysfsNumber(dir / "vendor"), dir / "vendor");
    d.device = narrow<std::uint16_t>(readSysfsNumber(dir / "device"), dir / "device");
    d.classCode = narrow<std::uint32_t>(readSysfsNumber(dir / "class"), dir / "class") & 0xffffff;
    if (std::filesystem::exists(dir / "subsystem_vendor", ec))
        d.subsystemVendor = narrow<std::uint16_t>(readSysfsNumber(dir / "subsystem_vendor"), dir / "subsystem_vendor");
    if (std::filesystem::exists(dir / "subsystem_device", ec))
        d.subsystemDevice = narrow<std::uint16_t>(readSysfsNumber(dir / "subsystem_device"), dir / "subsystem_device");
    if (std::filesystem::exists(dir / "revision", ec))
        d.revision = narrow<std::uint8_t>(readSysfsNumber(dir / "revision"), dir / "revision");
    d.irq = narrow<unsigned>(readSysfsNumber(dir / "irq"), dir / "irq");
    d.msiIrqs = readMsiIrqs(dir / "msi_irqs");

    if (std::filesystem::exists(dir / "config", ec)) {
        const auto config = readFile(dir / "config");
        if (config.size() > kConfigInterruptPin) {
            d.headerType = config[kConfigHeaderType] & 0x7f;
            d.interruptLine = config[kConfigInterruptLine];
            d.interruptPin = config[kConfigInterruptPin];
        }
    }

    if (std::filesystem::exists(dir / "enable", ec)) d.enabled = readSysfsNumber(dir / "enable") != 0;
    d.driver = readSysfsLinkName(dir / "driver");
    if (auto o = readSysfsText(dir / "driver_override"); o && !o->empty() && *o != "(null)")
        d.driverOverride = *o;
    if (auto g = readSysfsLinkName(dir / "iommu_group")) {
        unsigned n = 0;
        auto [p, err] = std::from_chars(g->data(), g->data() + g->size(), n);
        if (err != std::errc() || p != g->data() + g->size())
            throw Error::format("'{}': link target '{}' is not a group number", (dir / "iommu_group").string(), *g);
        d.iommuGroup = n;
    }

    const auto resource = dir / "resource";
    d.bars = parseResourceFile(readSysfsTextRequired(resource), resource.string());
    return d;
}

bool SysfsPciDevice::isBridge() const {
    if (headerType) return *headerType != 0;
    return isBridgeClass(classCode);
}

bool SysfsPciDevice::hasIntx() const {
    if (interruptPin) return *interruptPin != 0;
    return irq != 0;
}

bool SysfsPciDevice::irqIsMsi() const {
    return std::find(msiIrqs.begin(), msiIrqs.end(), irq) != msiIrqs.end();
}

}  // namespace cxvm::host::pci
