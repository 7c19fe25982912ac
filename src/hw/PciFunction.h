#pragma once
// One PCI function's type-0 configuration space (PCI Local Bus Specification 3.0,
// chapter 6): 256 bytes with per-byte write masks, the status register's write-1-to-
// clear bits, and BARs that answer the sizing protocol (write all ones, read back the
// size mask with the type bits). Devices (virtio, passthrough, the cross-VM device)
// derive from it or use it as is, and learn about decode changes via onDecodeChanged.
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace cxvm::hw {

struct PciIds {
    std::uint16_t vendor = 0, device = 0;
    std::uint32_t classCode = 0;  // base class << 16 | subclass << 8 | programming interface
    std::uint8_t revision = 0;
    std::uint16_t subsystemVendor = 0, subsystem = 0;
    std::uint8_t interruptPin = 0;  // 0 none, 1..4 INTA#..INTD#
};

enum class PciBarKind : std::uint8_t { Io, Memory32, Memory64, Memory64Prefetchable, Memory32Prefetchable };

class PciFunction {
public:
    static constexpr unsigned kConfigSize = 256;
    static constexpr unsigned kBars = 6;
    // Register offsets of the type-0 header (spec figure 6-1).
    enum : unsigned { kVendorId = 0x00, kCommand = 0x04, kStatus = 0x06, kRevision = 0x08,
                      kCacheLine = 0x0C, kLatency = 0x0D, kHeaderType = 0x0E, kBar0 = 0x10,
                      kSubsystemVendor = 0x2C, kRomBar = 0x30, kCapabilities = 0x34,
                      kInterruptLine = 0x3C, kInterruptPin = 0x3D };
    static constexpr std::uint16_t kCommandIo = 0x1, kCommandMemory = 0x2, kCommandBusMaster = 0x4;

    PciFunction(std::string name, const PciIds& ids);
    virtual ~PciFunction() = default;
    PciFunction(const PciFunction&) = delete;
    PciFunction& operator=(const PciFunction&) = delete;

    [[nodiscard]] std::string_view name() const { return name_; }

    // Configuration accesses; offset + size stays within one dword (PciHost ensures it).
    // Subclasses override to give device-specific registers (capabilities) behaviour.
    [[nodiscard]] virtual std::uint32_t configRead(unsigned offset, unsigned size) const;
    virtual void configWrite(unsigned offset, unsigned size, std::uint32_t value);

    // Declares BAR `index` of `size` bytes (a power of two; I/O >= 4, memory >= 16).
    // A 64-bit BAR also takes index + 1. Throws cxvm::Error on a bad layout.
    void defineBar(unsigned index, PciBarKind kind, std::uint64_t size);
    // Address the guest programmed into BAR `index`, if decoding is enabled for its
    // space and the address is not the all-ones sizing pattern.
    [[nodiscard]] std::optional<std::uint64_t> barAddress(unsigned index) const;
    [[nodiscard]] std::uint64_t barSize(unsigned index) const { return bars_[index].size; }
    [[nodiscard]] std::uint16_t command() const { return read16(kCommand); }
    // The IRQ the board routes this function's INTx pin to (firmware's job on a PC;
    // Linux without a PCI IRQ router uses this value).
    void setInterruptLine(std::uint8_t irq) { config_[kInterruptLine] = irq; }
    [[nodiscard]] std::uint8_t interruptLine() const { return config_[kInterruptLine]; }

    // Appends a capability (spec 6.7) to the list at 0x34: ID, next pointer, then `body`.
    // `writable` (empty, or as long as `body`) gives the guest-writable bits of the body.
    // Returns the capability's offset (dword aligned, from 0x40). Throws cxvm::Error
    // when config space is full.
    unsigned addCapability(std::uint8_t id, std::span<const std::uint8_t> body,
                           std::span<const std::uint8_t> writable = {});

    // Called after a write changed the command register or a BAR.
    std::function<void(PciFunction&)> onDecodeChanged;

protected:
    // Byte-level setup for subclasses: value and guest-writable bits.
    void setConfig8(unsigned offset, std::uint8_t value, std::uint8_t writable = 0);
    void setConfig16(unsigned offset, std::uint16_t value, std::uint16_t writable = 0);
    void setConfig32(unsigned offset, std::uint32_t value, std::uint32_t writable = 0);
    [[nodiscard]] std::uint16_t read16(unsigned offset) const;

private:
    struct Bar {
        PciBarKind kind = PciBarKind::Memory32;
        std::uint64_t size = 0;  // 0: not implemented
        bool upperHalf = false;  // the high dword of the previous 64-bit BAR
    };
    std::string name_;
    std::array<std::uint8_t, kConfigSize> config_{};
    std::array<std::uint8_t, kConfigSize> writable_{};
    std::array<std::uint8_t, kConfigSize> writeOneToClear_{};
    std::array<Bar, kBars> bars_{};
    unsigned nextCapability_ = 0x40;
    unsigned lastCapability_ = 0;  // offset of the last capability, 0 = none yet
};

}  // namespace cxvm::hw
