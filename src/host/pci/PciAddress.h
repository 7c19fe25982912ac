#pragma once
// A host PCI function's address (domain:bus:device.function), as sysfs names it:
// "0000:00:1f.2". Parsing also takes lspci's short form "00:1f.2" (domain 0).
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

namespace cxvm::host::pci {

struct PciAddress {
    std::uint16_t domain = 0;
    std::uint8_t bus = 0;
    std::uint8_t device = 0;    // 0..31
    std::uint8_t function = 0;  // 0..7

    // "[DDDD:]BB:DD.F" in hex (case-insensitive). Throws cxvm::Error naming `text` when
    // it is malformed or a field is out of range.
    static PciAddress parse(std::string_view text);

    // Whether `text` is a well-formed address (for skipping non-device sysfs entries).
    static bool valid(std::string_view text);

    // "0000:00:1f.2": the sysfs directory name.
    [[nodiscard]] std::string toString() const;

    auto operator<=>(const PciAddress&) const = default;
};

}  // namespace cxvm::host::pci
