#pragma once
// A VM instance's passthrough lists (VM_INIT_DEF in <configurations/vm.h>; the
// tutorial's format, docs/passthrough.md) as PassthroughSpecs: each `pci_devices` entry
// (bus/dev/fun, or "bdf":"0000:00:01.0" with a domain) with its `ioports` entries (the
// ones with its "name", else with "pci_device" equal to its dev) and the `irqs` entry
// its "irq" names. Only the lists' shape is checked here; the values against the host
// in hw::vfio::checkAgainstHost.
#include "adl/Model.h"
#include "hw/vfio/PassthroughSpec.h"

#include <string>
#include <string_view>
#include <vector>

namespace cxvm::system {

// Throws cxvm::Error starting with the spec's file:line:col for a malformed entry, an
// irq name no irqs entry has, an ioports entry no device claims.
std::vector<hw::vfio::PassthroughSpec> vmPassthrough(const adl::Instance& vm);

// One spec as a command-line word for the VM instance process, and back.
std::string passthroughArg(const hw::vfio::PassthroughSpec& spec);
hw::vfio::PassthroughSpec parsePassthroughArg(std::string_view arg);

}  // namespace cxvm::system
