#pragma once
// Guest RAM sizes as users write them: "128M", "128MiB", "1G", "65536K", or a plain
// number of MiB ("128", as guest_ram_mb).
#include <cstdint>
#include <string_view>

namespace cxvm::vmm {

inline constexpr std::uint64_t kMinGuestRam = 2ull << 20;
inline constexpr std::uint64_t kMaxGuestRam = 3584ull << 20;  // below the PCI hole

// Throws cxvm::Error naming the text for junk, zero, or sizes outside
// [kMinGuestRam, kMaxGuestRam].
std::uint64_t parseMemorySize(std::string_view text);

}  // namespace cxvm::vmm
