#pragma once
// What a CAmkES VM spec needs to pass one host PCI function through, in the tutorial's
// format (camkes-x86-vm-tutorial, "Passthrough SATA" / "Passthrough Ethernet"):
//
//     vm0_config.ioports = [
//         {"start":0x4088, "end":0x4090, "pci_device":0x1f, "name":"SATA"},
//     ];
//     vm0_config.pci_devices = [
//         {
//             "name":"SATA",
//             "bus":0,
//             "dev":0x1f,
//             "fun":2,
//             "irq":"SATA",
//             "memory":[
//                 {"paddr":0xc0713000, "size":0x800, "page_bits":12},
//             ],
//         },
//     ];
//     vm0_config.irqs = [
//         {"name":"SATA", "source":19, "level_trig":1, "active_low":1, "dest":11},
//     ];
//
// ioports: one entry per I/O BAR, `end` exclusive (start + size), `pci_device` the
// device (slot) number. memory: one entry per memory BAR. irqs: `source` the host's
// interrupt (I/O APIC GSI), `dest` the guest's ISA IRQ line.
#include "host/pci/SysfsPciDevice.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace cxvm::host::pci {

struct SnippetOptions {
    std::string name;                 // empty: the class's short name ("SATA", "Ethernet")
    unsigned vm = 0;                  // vm<N>_config
    std::optional<unsigned> dest;     // guest IRQ; nullopt: suggestGuestIrq(takenDests)
    std::vector<unsigned> takenDests; // guest IRQs the VM already uses for other devices
};

struct SpecIoport {
    std::uint64_t start = 0, end = 0;  // end exclusive
    unsigned pciDevice = 0;
};

struct SpecMemory {
    std::uint64_t paddr = 0, size = 0;
    unsigned pageBits = 12;
};

struct SpecIrq {
    unsigned source = 0;
    bool levelTrig = true, activeLow = true;
    unsigned dest = 0;
};

struct SpecEntries {
    std::string name;
    unsigned vm = 0;
    PciAddress address;
    std::vector<SpecIoport> ioports;
    std::vector<SpecMemory> memory;
    std::optional<SpecIrq> irq;      // nullopt: the function has no INTx
    std::vector<std::string> notes;  // caveats, printed as comments above the entries
};

// Guest ISA lines the PC board's own devices use (PIT 0, keyboard 1, cascade 2, COM2 3,
// COM1 4, RTC 8, i8042 AUX and cross-VM events 12, FPU 13; src/vmm/PcBoard.cpp).
inline constexpr unsigned kBoardIrqs[] = {0, 1, 2, 3, 4, 8, 12, 13};

// The first guest IRQ in the tutorial's order (11, 10, then 9, 5, 7, 6, 15, 14) that
// neither the board nor `taken` uses. Throws cxvm::Error when none is left.
unsigned suggestGuestIrq(std::span<const unsigned> taken);

// The entries for `d`. Throws cxvm::Error when a BAR cannot be expressed (an I/O BAR
// above 0xffff), for a name that is not an identifier, or for a `dest` past IRQ 15 or
// used by the board.
SpecEntries specEntries(const SysfsPciDevice& d, const SnippetOptions& options);

// The spec text: pci_devices_iospace, then the ioports (when there are I/O BARs),
// pci_devices and irqs (when there is an INTx) lists, each line indented by `indent`.
std::string formatSpecSnippet(const SpecEntries& e, unsigned indent = 8);

// The tutorial's integer style: 0 as "0", anything else as lower-case "0x..".
std::string specHex(std::uint64_t v);

}  // namespace cxvm::host::pci
