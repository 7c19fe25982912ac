#pragma once
// A firmware ROM (--firmware ROM.bin) for guests that start from the reset vector
// instead of a Linux direct boot: the image is mapped read-only so that it ends at
// 4 GiB, where the CPU fetches its first instruction (SDM Vol. 3 9.1.4: CS.base
// 0xFFFF0000 + EIP 0xFFF0 = 0xFFFFFFF0, the image's last 16 bytes).
#include "hw/GuestMemory.h"

#include <cstdint>
#include <span>
#include <string>

namespace cxvm::boot {

inline constexpr std::uint64_t kFirmwareMaxSize = 16ull << 20;

// Returns the ROM's guest physical base. Throws cxvm::Error for an empty image, one
// larger than 16 MiB or not a multiple of 16 bytes (the reset vector must be the last
// paragraph), or one that would overlap guest RAM.
std::uint64_t loadFirmwareRom(hw::GuestMemory& memory, std::span<const std::uint8_t> rom,
                              const std::string& name);

}  // namespace cxvm::boot
