#pragma once
// One `vmI_config.pci_devices` entry with the `ioports` and `irqs` entries that belong to
// it (the tutorial's three lists, docs/passthrough.md), each value with the place in the
// spec it came from, and the check of those values against the host function's real
// resources as sysfs reports them (host/pci). A mismatch is an error naming the spec's
// file:line:col and the sysfs value: the spec was written for another machine, or
// firmware moved a BAR.
#include "host/pci/PciAddress.h"
#include "host/pci/SysfsPciDevice.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cxvm::hw::vfio {

struct PassthroughMemory {
    std::uint64_t paddr = 0, size = 0;
    std::string origin;  // "file:line:col" of the entry
};

struct PassthroughIoports {
    std::uint32_t start = 0, end = 0;  // end exclusive, as the tutorial writes it
    std::string origin;
};

struct PassthroughIrq {
    std::string name;
    unsigned source = 0;  // the host IRQ (sysfs `irq`)
    unsigned dest = 0;    // the guest's ISA IRQ line
    bool levelTriggered = true, activeLow = true;
    std::string origin, sourceOrigin, destOrigin;
};

struct PassthroughSpec {
    std::string vm;    // "vm0"
    std::string name;  // the entry's "name"
    host::pci::PciAddress address;
    std::string origin;  // the pci_devices entry
    std::vector<PassthroughMemory> memory;
    std::vector<PassthroughIoports> ioports;  // the ioports entries whose pci_device is this dev
    std::optional<PassthroughIrq> irq;        // from the entry's "irq" name

    // "vm0 pci_devices \"Ethernet\" (0000:00:01.0)", for messages.
    [[nodiscard]] std::string describe() const;
};

// Throws cxvm::Error "<origin>: error: ..." when a value of `spec` is not what `host` has:
// a memory entry that is not one of its memory BARs (start and size), an ioports range
// that is not one of its I/O BARs, an irq whose source is not its INTx IRQ (or a function
// without INTx), a dest outside 0..15 or the cascade (2), an edge-triggered irq.
void checkAgainstHost(const PassthroughSpec& spec, const host::pci::SysfsPciDevice& host);

// The BAR (index) of `host` that `spec` grants the guest, in BAR order: its memory and
// ioports entries, matched by checkAgainstHost. BARs the spec does not list stay hidden.
struct GrantedBar {
    unsigned index = 0;
    bool io = false;
    std::uint64_t start = 0, size = 0;  // the host's (= the spec's) address and size
};
[[nodiscard]] std::vector<GrantedBar> grantedBars(const PassthroughSpec& spec, const host::pci::SysfsPciDevice& host);

}  // namespace cxvm::hw::vfio
