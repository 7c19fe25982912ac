#pragma once
// A firmware ROM (--firmware ROM.bin) for guests that start from the reset vector
// instead of a Linux direct boot: the image is mapped read-only so that it ends at
// 4 GiB, where the CPU fetches its first instruction (SDM Vol. 3 9.1.4: CS.base
// 0xFFFF0000 + EIP 0xFFF0 = 0xFFFFFFF0, the image's last 16 bytes). Its last 128 KiB
// (all of a smaller image, top-aligned) are also visible at 0xE0000-0xFFFFF, as on every
// PC: a BIOS-style ROM far-jumps from the reset vector into the F000 segment (JMP
// F000:E05B), which must reach the same bytes. That alias is read-only too (writes are
// ignored, as by ROM) and hides the guest RAM under it (GuestMemory::addRomAlias), on
// both engines.
#include "hw/GuestMemory.h"

#include <cstdint>
#include <span>
#include <string>

namespace cxvm::boot {

inline constexpr std::uint64_t kFirmwareMaxSize = 16ull << 20;
// The legacy BIOS window below 1 MiB: 0xE0000-0xFFFFF.
inline constexpr std::uint64_t kLegacyBiosEnd = 0x100000;
inline constexpr std::uint64_t kLegacyBiosMaxSize = 128ull << 10;

struct FirmwareLayout {
    std::uint64_t base;       // guest physical base of the image (ends at 4 GiB)
    std::uint64_t aliasBase;  // start of its alias below 1 MiB (ends at 1 MiB)
};

// Maps the ROM and its alias; returns where. Throws cxvm::Error for an empty image, one
// larger than 16 MiB, not a multiple of 16 bytes (the reset vector must be the last
// paragraph) or of 4 KiB (ROM is mapped in pages), or one that would overlap guest RAM.
FirmwareLayout loadFirmwareRom(hw::GuestMemory& memory, std::span<const std::uint8_t> rom,
                              const std::string& name);

}  // namespace cxvm::boot
