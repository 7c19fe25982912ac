#pragma once
// Reset Control Register at port 0xCF9 (Intel PIIX4 datasheet 4.1.17 "RC"): a byte
// write with bit 2 (RCPU) set resets the system; bit 1 (SRST) picks hard vs soft reset,
// bit 3 full reset. Linux's reboot=pci writes 0x02 then 0x06. Only byte accesses
// reach it: the port shares 0xCF8-0xCFB with the PCI address register (dword-only),
// so PciHost forwards narrow accesses to it (PciHost::setNarrowCf8Handler).
#include "hw/IoBus.h"

#include <cstdint>
#include <functional>

namespace cxvm::hw {

class ResetControl final : public IoDevice {
public:
    static constexpr std::uint16_t kPort = 0xCF9;
    using ResetRequest = std::function<void(bool hard)>;

    explicit ResetControl(ResetRequest onReset) : onReset_(std::move(onReset)) {}

    std::uint32_t ioRead(std::uint16_t port, unsigned) override { return port == kPort ? value_ : 0xFF; }
    void ioWrite(std::uint16_t port, unsigned, std::uint32_t value) override {
        if (port != kPort) return;
        const auto v = static_cast<std::uint8_t>(value);
        value_ = v & 0x0A;  // RCPU reads back as 0 (it is a trigger)
        if ((v & 0x04) && onReset_) onReset_((v & 0x0A) != 0);
    }
    [[nodiscard]] std::string_view name() const override { return "reset-control"; }

private:
    ResetRequest onReset_;
    std::uint8_t value_ = 0;
};

}  // namespace cxvm::hw
