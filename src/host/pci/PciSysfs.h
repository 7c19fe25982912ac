#pragma once
// The host's PCI functions under a sysfs root (/sys unless a test injects a fake tree):
// listing, reading one function, and the members of an IOMMU group.
#include "host/pci/PciAddress.h"
#include "host/pci/SysfsPciDevice.h"

#include <filesystem>
#include <vector>

namespace cxvm::host::pci {

class PciSysfs {
public:
    explicit PciSysfs(std::filesystem::path root = "/sys");

    [[nodiscard]] const std::filesystem::path& root() const { return root_; }
    [[nodiscard]] std::filesystem::path devicesDir() const { return root_ / "bus/pci/devices"; }
    [[nodiscard]] std::filesystem::path deviceDir(const PciAddress& a) const {
        return devicesDir() / a.toString();
    }

    // Every function, in address order. Throws cxvm::Error when the root has no PCI bus.
    [[nodiscard]] std::vector<PciAddress> list() const;

    // One function. Throws cxvm::Error naming the address when there is no such function.
    [[nodiscard]] SysfsPciDevice device(const PciAddress& a) const;

    // The PCI functions in IOMMU group `group` (kernel/iommu_groups/<group>/devices), in
    // address order. Throws cxvm::Error when the group does not exist.
    [[nodiscard]] std::vector<PciAddress> iommuGroupMembers(unsigned group) const;

private:
    std::filesystem::path root_;
};

}  // namespace cxvm::host::pci
