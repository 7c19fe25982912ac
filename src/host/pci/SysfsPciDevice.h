#pragma once
// One host PCI function as sysfs describes it (/sys/bus/pci/devices/<address>/): ids,
// class, the legacy interrupt, BARs (`resource`), the bound driver and the IOMMU group.
// Everything is read once, at construction; nothing here needs lspci.
#include "host/pci/PciAddress.h"
#include "host/pci/PciBar.h"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace cxvm::host::pci {

struct SysfsPciDevice {
    PciAddress address;
    std::uint16_t vendor = 0, device = 0;
    std::uint16_t subsystemVendor = 0, subsystemDevice = 0;
    std::uint32_t classCode = 0;  // base << 16 | subclass << 8 | programming interface
    std::uint8_t revision = 0;
    // sysfs `irq`: the INTx line's IRQ (on x86 with an I/O APIC, the GSI); while the
    // driver has MSI enabled, the first MSI IRQ instead (see intxIrq()).
    unsigned irq = 0;
    std::vector<unsigned> msiIrqs;  // `msi_irqs/`: the IRQs of enabled MSI/MSI-X vectors
    // From the first 64 bytes of `config` (readable without privileges); nullopt when
    // `config` is missing or short.
    std::optional<std::uint8_t> interruptPin;   // 0: none, 1..4: INTA#..INTD#
    std::optional<std::uint8_t> interruptLine;  // what firmware or the OS wrote
    std::optional<std::uint8_t> headerType;     // bits 6..0 (0: endpoint, 1: PCI bridge)
    std::optional<std::string> driver;          // bound driver's name
    std::optional<std::string> driverOverride;  // `driver_override` when set
    std::optional<unsigned> iommuGroup;         // nullopt: no IOMMU translates this device
    // `enable`: whether a driver enabled the function. Until one does, x86 Linux has not
    // routed its INTx and `irq` is only what firmware wrote in the Interrupt Line register.
    std::optional<bool> enabled;
    std::vector<PciBar> bars;

    // Reads the function whose sysfs directory is `dir`. Throws cxvm::Error naming the
    // directory and the attribute that is missing or malformed.
    static SysfsPciDevice read(const std::filesystem::path& dir, const PciAddress& address);

    // Not an endpoint: a bridge by header type (or by class when `config` is unreadable).
    [[nodiscard]] bool isBridge() const;
    // Whether the function signals legacy interrupts (INTx) at all.
    [[nodiscard]] bool hasIntx() const;
    // True when `irq` shows an MSI IRQ (the driver enabled MSI), not the INTx line.
    [[nodiscard]] bool irqIsMsi() const;
};

}  // namespace cxvm::host::pci
