#include "boot/FirmwareRom.h"

#include "util/Error.h"

#include <algorithm>

namespace cxvm::boot {

FirmwareLayout loadFirmwareRom(hw::GuestMemory& memory, std::span<const std::uint8_t> rom,
                              const std::string& name) {
    if (rom.empty()) throw Error::format("firmware {}: empty file", name);
    if (rom.size() > kFirmwareMaxSize)
        throw Error::format("firmware {}: {} bytes; at most {} MiB fit below 4 GiB", name,
                            rom.size(), kFirmwareMaxSize >> 20);
    if (rom.size() % 16 != 0)
        throw Error::format("firmware {}: size {} is not a multiple of 16: the reset vector "
                            "must be its last 16 bytes",
                            name, rom.size());
    if (rom.size() % hw::GuestMemory::kPageSize != 0)
        throw Error::format("firmware {}: size {} is not a multiple of 4 KiB: ROM is mapped in "
                            "whole pages ending at 4 GiB (pad the image at its start)",
                            name, rom.size());
    const std::uint64_t base = (1ull << 32) - rom.size();
    if (base < memory.ramSize())
        throw Error::format("firmware {}: would start at {:#x}, inside guest RAM", name, base);
    memory.addRom(base, rom, "firmware " + name);
    const std::uint64_t aliasSize = std::min<std::uint64_t>(rom.size(), kLegacyBiosMaxSize);
    const std::uint64_t aliasBase = kLegacyBiosEnd - aliasSize;
    memory.addRomAlias(aliasBase, (1ull << 32) - aliasSize, aliasSize,
                       "firmware " + name + " (alias below 1 MiB)");
    return {base, aliasBase};
}

}  // namespace cxvm::boot
