#include "host/pci/PciSysfs.h"

#include "util/Error.h"

#include <algorithm>
#include <system_error>
#include <utility>

namespace cxvm::host::pci {
namespace {

std::vector<PciAddress> addressesIn(const std::filesystem::path& dir) {
    std::vector<PciAddress> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
        const std::string name = e.path().filename().string();
        if (PciAddress::valid(name)) out.push_back(PciAddress::parse(name));
    }
    if (ec) throw Error::format("cannot list '{}': {}", dir.string(), ec.message());
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

PciSysfs::PciSysfs(std::filesystem::path root) : root_(std::move(root)) {}

std::vector<PciAddress> PciSysfs::list() const {
    std::error_code ec;
    if (!std::filesystem::is_directory(devicesDir(), ec))
        throw Error::format("no PCI bus in sysfs: '{}' does not exist", devicesDir().string());
    return addressesIn(devicesDir());
}

SysfsPciDevice PciSysfs::device(const PciAddress& a) const {
    std::error_code ec;
    if (!std::filesystem::exists(deviceDir(a), ec))
        throw Error::format("no PCI function {} on this host (no '{}'; `cxvm pci-info` lists them)",
                            a.toString(), deviceDir(a).string());
    return SysfsPciDevice::read(deviceDir(a), a);
}

std::vector<PciAddress> PciSysfs::iommuGroupMembers(unsigned group) const {
    const auto dir = root_ / "kernel/iommu_groups" / std::to_string(group) / "devices";
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
        throw Error::format("IOMMU group {}: '{}' does not exist", group, dir.string());
    return addressesIn(dir);
}

}  // namespace cxvm::host::pci
