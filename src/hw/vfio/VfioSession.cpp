#include "hw/vfio/VfioSession.h"

#include "host/pci/IommuGroup.h"
#include "host/pci/VfioBindPlan.h"
#include "util/Error.h"

#include <fmt/format.h>

#include <system_error>

namespace cxvm::hw::vfio {

VfioSession::VfioSession(VfioHostPaths paths) : paths_(std::move(paths)), sysfs_(paths_.sysfsRoot) {}

VfioSession::~VfioSession() {
    dma_.clear();  // unmapped while the container is still open
}

host::pci::SysfsPciDevice VfioSession::preflight(const PassthroughSpec& spec) const {
    const std::string where = fmt::format("{}: error: {}", spec.origin, spec.describe());
    host::pci::SysfsPciDevice d;
    try {
        d = sysfs_.device(spec.address);
    } catch (const Error& e) {
        throw Error::format("{}: {}", where, e.what());
    }
    checkAgainstHost(spec, d);
    if (!d.iommuGroup) {
        std::error_code ec;
        const auto groups = paths_.sysfsRoot / "kernel/iommu_groups";
        const bool none = !std::filesystem::exists(groups, ec) || std::filesystem::is_empty(groups, ec);
        throw Error::format("{}: no IOMMU translates {} ({}), so VFIO cannot confine its DMA: enable VT-d or AMD-Vi "
                            "in the firmware and boot with intel_iommu=on (or amd_iommu=on)",
                            where, spec.address.toString(),
                            none ? fmt::format("{} is empty: the host has no IOMMU groups", groups.string())
                                 : "it has no iommu_group link in sysfs");
    }
    if (d.driver.value_or("") != "vfio-pci") {
        const auto plan = host::pci::vfioBindPlan(d, paths_.sysfsRoot);
        std::string steps;
        for (const auto& c : plan.commands) steps += "\n    " + c;
        throw Error::format("{}: {} is {}, not to vfio-pci; bind it (as root){}:{}", where, spec.address.toString(),
                            d.driver ? "bound to " + *d.driver : "not bound to a driver",
                            plan.unbindDriver ? fmt::format(", which unbinds it from {}", *plan.unbindDriver) : "",
                            steps);
    }
    const auto group = host::pci::checkIommuGroup(sysfs_, *d.iommuGroup, d.address);
    if (!group.viableNow) {
        std::string blockers;
        for (const auto& m : group.members)
            if (!m.ok) blockers += fmt::format("\n    {}  {}", m.address.toString(), m.reason);
        throw Error::format("{}: IOMMU group {} is not viable: VFIO needs every device of the group bound to vfio-pci "
                            "(or no driver); these are not:{}",
                            where, *d.iommuGroup, blockers);
    }
    return d;
}

VfioSession::Opened VfioSession::open(const PassthroughSpec& spec) {
    Opened o;
    o.host = preflight(spec);
    o.bars = grantedBars(spec, o.host);
    const std::string where = fmt::format("{}: error: {}", spec.origin, spec.describe());
    try {
        if (!container_) container_.emplace(paths_.devVfio / "vfio");
        const unsigned g = *o.host.iommuGroup;
        auto it = groups_.find(g);
        if (it == groups_.end())
            it = groups_.emplace(g, std::make_unique<host::vfio::VfioGroup>(g, *container_, paths_.devVfio)).first;
        o.backend = std::make_unique<VfioBackend>(it->second->openDevice(spec.address));
        deviceFds_.push_back(o.backend->device().fd());
    } catch (const Error& e) {
        throw Error::format("{}: {}", where, e.what());
    }
    return o;
}

void VfioSession::mapGuestRam(std::span<std::uint8_t> ram, std::uint64_t gpa) {
    if (!container_ || !container_->iommuSet()) throw Error("VFIO: guest RAM mapped for DMA before any device opened");
    dma_.push_back(container_->mapDma(ram, gpa, true));
}

VfioFds VfioSession::fds() const { return {container_ ? container_->fd() : -1, deviceFds_}; }

}  // namespace cxvm::hw::vfio
