#pragma once
// One VM's VFIO state: the container (type1 IOMMU), the groups of its passthrough
// devices, and guest RAM mapped for DMA at IOVA = guest-physical address, so that the
// device's bus addresses are the guest's physical addresses and its DMA reaches guest
// RAM and nothing else.
//
// open() checks, in this order, each with an error saying what to do:
//  1. the host function exists (sysfs) and the spec's values are its resources
//     (checkAgainstHost);
//  2. an IOMMU translates it (an IOMMU group in sysfs; none: VT-d/AMD-Vi off);
//  3. it is bound to vfio-pci (else the exact commands: VfioBindPlan);
//  4. its group is viable (else the other members that block it);
//  5. /dev/vfio/vfio opens (the vfio modules), the group and the device open (EBUSY:
//     in use by another process).
// 1-4 need only sysfs: the tests run them on a fake tree.
#include "host/pci/PciSysfs.h"
#include "host/vfio/VfioContainer.h"
#include "host/vfio/VfioGroup.h"
#include "hw/vfio/PassthroughSpec.h"
#include "hw/vfio/VfioBackend.h"
#include "hw/vfio/VfioFds.h"

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace cxvm::hw::vfio {

struct VfioHostPaths {
    std::filesystem::path sysfsRoot = "/sys";
    std::filesystem::path devVfio = "/dev/vfio";  // holds `vfio` (the container) and the groups
};

class VfioSession {
public:
    explicit VfioSession(VfioHostPaths paths = {});
    ~VfioSession();
    VfioSession(const VfioSession&) = delete;
    VfioSession& operator=(const VfioSession&) = delete;

    // Steps 1-4 (sysfs only): the host function, checked. Throws cxvm::Error starting
    // with the spec's origin.
    [[nodiscard]] host::pci::SysfsPciDevice preflight(const PassthroughSpec& spec) const;

    struct Opened {
        host::pci::SysfsPciDevice host;
        std::vector<GrantedBar> bars;
        std::unique_ptr<VfioBackend> backend;
    };
    // preflight, then step 5.
    [[nodiscard]] Opened open(const PassthroughSpec& spec);

    // Maps `ram` (guest RAM at guest-physical `gpa`) for the devices' DMA. Call after
    // the first open() (the IOMMU is set when a group joins).
    void mapGuestRam(std::span<std::uint8_t> ram, std::uint64_t gpa);

    // The container's and the opened devices' fds (container -1 before any open()).
    [[nodiscard]] VfioFds fds() const;

private:
    VfioHostPaths paths_;
    host::pci::PciSysfs sysfs_;
    std::optional<host::vfio::VfioContainer> container_;
    std::map<unsigned, std::unique_ptr<host::vfio::VfioGroup>> groups_;
    std::vector<host::vfio::VfioDmaMapping> dma_;  // before container_ goes
    std::vector<int> deviceFds_;                   // owned by the backends open() returned
};

}  // namespace cxvm::hw::vfio
