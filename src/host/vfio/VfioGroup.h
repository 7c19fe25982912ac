#pragma once
// A VFIO group (/dev/vfio/<n>): the unit of isolation the IOMMU gives. Opening one
// checks that it is viable (every device in it bound to vfio-pci, to no driver, or a
// bridge: `cxvm pci-info ADDRESS` shows which are not) and joins it to a container.
#include "host/pci/PciAddress.h"
#include "host/vfio/VfioContainer.h"
#include "host/vfio/VfioDevice.h"
#include "util/UniqueFd.h"

#include <filesystem>

namespace cxvm::host::vfio {

class VfioGroup {
public:
    // Opens group `group` under `devDir`, checks viability, joins `container` and sets its
    // IOMMU. The container must outlive the group. Throws cxvm::Error naming the group.
    VfioGroup(unsigned group, VfioContainer& container, const std::filesystem::path& devDir = "/dev/vfio");

    [[nodiscard]] unsigned number() const { return group_; }
    [[nodiscard]] int fd() const { return fd_.get(); }

    // A device of this group, by its PCI address. Throws cxvm::Error when the group has
    // no such device (or it is not bound to vfio-pci).
    [[nodiscard]] VfioDevice openDevice(const pci::PciAddress& address) const;

private:
    unsigned group_;
    UniqueFd fd_;
};

}  // namespace cxvm::host::vfio
