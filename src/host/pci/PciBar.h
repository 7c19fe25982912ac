#pragma once
// A PCI function's base address registers as Linux reports them in sysfs `resource`:
// one line per resource, "0x<start> 0x<end> 0x<flags>" (end inclusive; all zero when
// unused). Lines 0-5 are BAR0-5, line 6 the expansion ROM, later lines a bridge's
// windows. The flags are the kernel's IORESOURCE_* bits (include/linux/ioport.h).
#include <cstdint>
#include <string_view>
#include <vector>

namespace cxvm::host::pci {

// include/linux/ioport.h
inline constexpr std::uint64_t kIoresourceIo = 0x100;
inline constexpr std::uint64_t kIoresourceMem = 0x200;
inline constexpr std::uint64_t kIoresourcePrefetch = 0x2000;
inline constexpr std::uint64_t kIoresourceMem64 = 0x100000;
inline constexpr std::uint64_t kIoresourceDisabled = 0x10000000;
inline constexpr std::uint64_t kIoresourceUnset = 0x20000000;

struct PciBar {
    enum class Kind : std::uint8_t { Io, Memory };

    unsigned index = 0;       // BAR number 0..5
    Kind kind = Kind::Memory;
    std::uint64_t start = 0;  // first byte (port or physical address)
    std::uint64_t size = 0;   // bytes
    std::uint64_t flags = 0;  // IORESOURCE_* as read
    bool is64 = false;        // a 64-bit memory BAR (occupies two BAR registers)
    bool prefetchable = false;

    [[nodiscard]] std::uint64_t end() const { return start + size; }  // exclusive
};

// The assigned BARs (0-5) of a `resource` file, in BAR order: empty lines, the ROM,
// bridge windows and resources flagged disabled or unset are left out. Throws
// cxvm::Error naming `where` and the line for a malformed line or end < start.
std::vector<PciBar> parseResourceFile(std::string_view text, std::string_view where);

}  // namespace cxvm::host::pci
