#pragma once
// The shell steps that hand one host PCI function to vfio-pci (Documentation/driver-api/
// vfio.rst): unbind the current driver, set `driver_override` so that only this function
// (not every device with its ids, as `new_id` would) binds to vfio-pci, and reprobe.
#include "host/pci/SysfsPciDevice.h"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace cxvm::host::pci {

struct VfioBindPlan {
    bool alreadyBound = false;                // bound to vfio-pci now
    std::optional<std::string> unbindDriver;  // the driver to unbind first
    std::vector<std::string> commands;        // to run as root, in order; empty when bound
    std::string newIdAlternative;             // the `new_id` way (binds every same-id device)
};

// Paths in the commands are under `sysfsRoot` (/sys on a real host).
VfioBindPlan vfioBindPlan(const SysfsPciDevice& d, const std::filesystem::path& sysfsRoot);

}  // namespace cxvm::host::pci
