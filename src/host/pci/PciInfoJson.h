#pragma once
// `cxvm pci-info --json`: the same facts as the text output, for scripts. Integers are
// JSON numbers (not hex strings); absent values are null.
#include "host/pci/IommuGroup.h"
#include "host/pci/SpecSnippet.h"
#include "host/pci/SysfsPciDevice.h"
#include "host/pci/VfioBindPlan.h"

#include <optional>
#include <span>
#include <string>

namespace cxvm::host::pci {

// One line per function: [{"address", "vendor", "device", "class", "class_name",
// "driver", "iommu_group"}, ...].
std::string listJson(std::span<const SysfsPciDevice> devices);

// Everything about one function: ids, irq, BARs, the spec entries (and their text), the
// VFIO steps and the IOMMU group's viability (null without an IOMMU group).
std::string deviceJson(const SysfsPciDevice& d, const SpecEntries& spec, const VfioBindPlan& vfio,
                       const std::optional<IommuGroupStatus>& group);

}  // namespace cxvm::host::pci
