#pragma once
// PCI host bridge with configuration mechanism #1 (PCI Local Bus Specification 3.0,
// 3.2.2.3.2): CONFIG_ADDRESS at 0xCF8 (dword accesses only: enable bit 31, bus 23..16,
// device 15..11, function 10..8, register 7..2) and CONFIG_DATA at 0xCFC-0xCFF (byte,
// word or dword at the offset within the dword selected by the port).
//
// Bus 0 holds the host bridge at 00:00.0 (Intel 82441FX "440FX", 8086:1237, class
// 0x060000) and whatever functions are registered later. Unclaimed functions read all
// ones (vendor 0xFFFF, "no device") and ignore writes. Narrow accesses to 0xCF8-0xCFB
// are not configuration cycles; they go to an optional handler (the reset control
// register at 0xCF9) or float.
#include "hw/IoBus.h"
#include "hw/PciFunction.h"

#include <cstdint>
#include <map>
#include <memory>

namespace cxvm::hw {

struct PciAddress {
    std::uint8_t bus = 0, device = 0, function = 0;
    [[nodiscard]] std::uint32_t key() const { return std::uint32_t{bus} << 8 | std::uint32_t{device} << 3 | function; }
};

class PciHost final : public IoDevice {
public:
    static constexpr std::uint16_t kConfigAddressPort = 0xCF8, kConfigDataPort = 0xCFC;

    PciHost();
    // Claims 0xCF8-0xCFF.
    void attach(IoBus& bus);

    // Registers `function` at `address` (not owned; it must outlive the host). Throws
    // cxvm::Error if the slot is taken or the address is out of range.
    void addFunction(PciAddress address, PciFunction& function);
    // Device number of the first free slot on bus 0 (1..31), or throws when full.
    [[nodiscard]] std::uint8_t freeSlot() const;
    [[nodiscard]] PciFunction* functionAt(PciAddress address) const;
    [[nodiscard]] PciFunction& hostBridge() { return *bridge_; }

    // Byte/word accesses to 0xCF8-0xCFB go here (e.g. ResetControl at 0xCF9).
    void setNarrowCf8Handler(IoDevice& device) { narrowCf8_ = &device; }

    std::uint32_t ioRead(std::uint16_t port, unsigned size) override;
    void ioWrite(std::uint16_t port, unsigned size, std::uint32_t value) override;
    [[nodiscard]] std::string_view name() const override { return "pci-host"; }

private:
    // The function CONFIG_ADDRESS selects, or nullptr (disabled or unclaimed).
    [[nodiscard]] PciFunction* selected() const;

    std::uint32_t configAddress_ = 0;
    std::map<std::uint32_t, PciFunction*> functions_;
    std::unique_ptr<PciFunction> bridge_;
    IoDevice* narrowCf8_ = nullptr;
};

}  // namespace cxvm::hw
