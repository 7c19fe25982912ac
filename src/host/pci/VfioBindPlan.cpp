#include "host/pci/VfioBindPlan.h"

#include <fmt/format.h>

namespace cxvm::host::pci {

VfioBindPlan vfioBindPlan(const SysfsPciDevice& d, const std::filesystem::path& sysfsRoot) {
    VfioBindPlan p;
    const std::string bdf = d.address.toString();
    const std::string dev = (sysfsRoot / "bus/pci/devices" / bdf).string();
    p.newIdAlternative = fmt::format("echo {:04x} {:04x} > {}", d.vendor, d.device,
                                     (sysfsRoot / "bus/pci/drivers/vfio-pci/new_id").string());
    if (d.driver && *d.driver == "vfio-pci") {
        p.alreadyBound = true;
        return p;
    }
    p.commands.push_back("modprobe vfio-pci");
    if (d.driver) {
        p.unbindDriver = d.driver;
        p.commands.push_back(fmt::format("echo {} > {}/driver/unbind", bdf, dev));
    }
    p.commands.push_back(fmt::format("echo vfio-pci > {}/driver_override", dev));
    p.commands.push_back(fmt::format("echo {} > {}", bdf, (sysfsRoot / "bus/pci/drivers_probe").string()));
    return p;
}

}  // namespace cxvm::host::pci
