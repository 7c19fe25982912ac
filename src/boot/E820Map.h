#pragma once
// The BIOS e820 memory map a PC guest sees (ACPI spec "System Address Map Interfaces";
// Linux arch/x86/include/uapi/asm/setup_data.h struct boot_e820_entry). cxvm's
// GuestMemory is flat RAM from 0, so the map says: RAM below 640 KiB, the legacy
// VGA/option-ROM/BIOS hole 640 KiB..1 MiB reserved, RAM from 1 MiB to the end.
#include <cstdint>
#include <vector>

namespace cxvm::boot {

enum class E820Type : std::uint32_t { Ram = 1, Reserved = 2, Acpi = 3, Nvs = 4, Unusable = 5 };

struct E820Entry {
    std::uint64_t addr = 0;
    std::uint64_t size = 0;
    E820Type type = E820Type::Ram;
    bool operator==(const E820Entry&) const = default;
};

inline constexpr std::uint64_t kLowRamEnd = 0xA0000;    // 640 KiB
inline constexpr std::uint64_t kHighRamStart = 0x100000;  // 1 MiB

// The map for `ramBytes` of guest RAM (throws cxvm::Error below 1 MiB + 4 KiB: no
// kernel fits and the protocol's low structures would overlap the hole).
std::vector<E820Entry> pcE820Map(std::uint64_t ramBytes);

}  // namespace cxvm::boot
