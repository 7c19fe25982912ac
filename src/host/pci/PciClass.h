#pragma once
// Names for PCI class codes (PCI Code and Assignment Specification): a description for
// humans ("SATA controller (AHCI)") and a short name a spec can use ("SATA", the
// tutorial's name for its SATA controller).
#include <cstdint>
#include <string>

namespace cxvm::host::pci {

// `classCode` is sysfs `class`: base class << 16 | subclass << 8 | programming interface.
std::string classDescription(std::uint32_t classCode);

// A short identifier ("SATA", "IDE", "Ethernet", "USB", ...), "PCI" when unknown.
std::string classShortName(std::uint32_t classCode);

// PCI-to-PCI and other bridges (base class 0x06, subclass other than host bridge).
bool isBridgeClass(std::uint32_t classCode);

}  // namespace cxvm::host::pci
