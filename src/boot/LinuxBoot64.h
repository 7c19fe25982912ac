#pragma once
// Linux x86-64 direct boot (Documentation/arch/x86/boot.rst, "64-bit Boot Protocol"), for
// engines with long mode (kvm): the same kernel, initrd, command line and boot_params as
// the 32-bit protocol (boot/LinuxBoot.h places them), entered at startup_64 =
// kernel + 0x200 in 64-bit mode with an identity map of the low 4 GiB, __BOOT_CS a
// 64-bit code segment and RSI = boot_params.
//
// Guest physical layout added below 1 MiB (free RAM between the GDT at 0x500 and
// boot_params at 0x7000):
//   0x1000  PML4        0x2000  PDPT        0x3000..0x6FFF  4 page directories (2 MiB pages)
#include "boot/LinuxBoot.h"
#include "engine/Vcpu.h"
#include "hw/GuestMemory.h"

#include <cstdint>

namespace cxvm::boot {

struct LongModeLayout {
    static constexpr std::uint64_t kPml4Addr = 0x1000;
    static constexpr std::uint64_t kPdptAddr = 0x2000;
    static constexpr std::uint64_t kPdAddr = 0x3000;             // 4 tables, one per GiB
    static constexpr std::uint64_t kIdentityMapped = 4ull << 30;  // [0, 4 GiB)
    static constexpr std::uint64_t kStartup64Offset = 0x200;      // boot.rst: startup_64
    static constexpr std::size_t kXloadflags = 0x236;             // in boot_params
    static constexpr std::uint16_t kXlfKernel64 = 0x1;            // XLF_KERNEL_64
};

// Writes the identity page tables and the long-mode GDT (null, null, 64-bit __BOOT_CS
// 0x10, flat __BOOT_DS 0x18 at LinuxBootLayout::kGdtAddr) into `memory`.
void writeLongModeTables(hw::GuestMemory& memory);

// 64-bit mode, paging on (CR0.PG|PE, CR4.PAE, EFER.LME|LMA, CR3 = the PML4), flat
// segments, RIP = `rip`, RSI = `rsi`, IF = 0. Tables from writeLongModeTables().
void setLongModeEntryState(engine::Vcpu& vcpu, std::uint64_t rip, std::uint64_t rsi);

// The 64-bit protocol for a kernel loadLinux() placed (with cpuHasLongMode). Throws
// cxvm::Error when the kernel has no 64-bit entry (xloadflags.XLF_KERNEL_64 clear:
// a 32-bit kernel) or its image lies beyond the identity map.
void setLinux64EntryState(hw::GuestMemory& memory, engine::Vcpu& vcpu, const LinuxBootLayout& layout);

}  // namespace cxvm::boot
