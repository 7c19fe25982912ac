#pragma once
// Whether an IOMMU group can be handed to VFIO. The kernel lets a process use a group
// only when it is "viable": every device in it is bound to a VFIO driver (vfio-pci),
// to pci-stub, to no driver at all, or is a bridge (non-endpoint header) —
// drivers/vfio/group.c, vfio_dev_driver_allowed().
#include "host/pci/PciAddress.h"
#include "host/pci/PciSysfs.h"

#include <optional>
#include <string>
#include <vector>

namespace cxvm::host::pci {

struct IommuGroupMember {
    PciAddress address;
    std::optional<std::string> driver;
    bool bridge = false;
    bool ok = false;     // does not keep the group from being viable
    std::string reason;  // why (not) ok, for humans
};

struct IommuGroupStatus {
    unsigned group = 0;
    std::vector<IommuGroupMember> members;
    // The group as it is now, and once `target` (the function being passed through) is
    // bound to vfio-pci.
    bool viableNow = false;
    bool viableAfterBind = false;
};

// Whether a bound driver lets the group stay viable ("vfio-pci", "pci-stub", vfio variant
// drivers such as "mlx5_vfio_pci").
bool isVfioFriendlyDriver(const std::string& driver);

// Reads every member of `group` and evaluates it. `target` is the function the user
// means to bind to vfio-pci. Throws cxvm::Error when the group or a member is unreadable.
IommuGroupStatus checkIommuGroup(const PciSysfs& sysfs, unsigned group, const PciAddress& target);

}  // namespace cxvm::host::pci
