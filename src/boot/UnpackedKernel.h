#pragma once
// A bzImage's kernel decompressed on the host, so the guest starts in the kernel proper
// instead of spending billions of instructions in the bzImage's own decompressor (as
// Firecracker boots a vmlinux). What the decompressor would do for a kernel loaded at its
// preferred address (arch/x86/boot/compressed/misc.c, extract_kernel, 6.1):
//   - decompress the payload into the buffer at the load address (init_size bytes);
//   - parse_elf: copy each PT_LOAD to load address + (p_paddr - LOAD_PHYSICAL_ADDR), where
//     LOAD_PHYSICAL_ADDR is the header's pref_address: at pref_address, to p_paddr;
//   - handle_relocations: 32-bit kernels relocate by load address - LOAD_PHYSICAL_ADDR,
//     which is 0 here ("No relocation required");
//   - choose_random_location (KASLR) is skipped, as with "nokaslr": boot_params' KASLR_FLAG
//     stays clear, so the kernel knows it was not randomised;
//   - jump to the kernel with ESI = boot_params (head_32.S: xorl %ebx,%ebx; jmp *%eax):
//     in 6.1 to `output`, the kernel's start, which for a 32-bit kernel is e_entry
//     (phys_startup_32 = LOAD_PHYSICAL_ADDR); 6.6+ jumps to output + (e_entry -
//     LOAD_PHYSICAL_ADDR). Either way: e_entry when loaded at pref_address.
// The kernel clears its own .bss (arch/x86/kernel/head_32.S); the loader zero-fills every
// p_memsz tail anyway.
#include "boot/BzImage.h"
#include "boot/KernelPayload.h"
#include "boot/VmlinuxElf.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cxvm::boot {

struct UnpackedKernel {
    PayloadFormat format = PayloadFormat::Unknown;
    std::vector<std::uint8_t> vmlinux;  // the decompressed payload: ELF (+ relocation table)
    VmlinuxElf elf;
    std::chrono::duration<double> took{};  // host time to decompress and parse

    // The file bytes of `s` (a segment of `elf`).
    [[nodiscard]] std::span<const std::uint8_t> bytesOf(const VmlinuxSegment& s) const {
        return std::span(vmlinux).subspan(s.fileOffset, s.fileSize);
    }
};

struct KernelUnpack {
    std::optional<UnpackedKernel> kernel;
    std::string notUnpacked;  // without `kernel`: why the kernel decompresses itself
};

// The most a payload may decompress to, whatever init_size says.
inline constexpr std::size_t kMaxUnpackedKernel = std::size_t{512} << 20;

// Unpacks `bz`'s payload for a load at its pref_address. No kernel (and the reason) for
// what the kernel's own decompressor must handle: protocol before 2.10 (no pref_address
// and init_size), a 64-bit kernel, no payload, a format other than gzip and xz. Throws
// cxvm::Error (from KernelPayload / VmlinuxElf, naming offset or address) for a payload
// that is corrupt: the in-guest decompressor would fail on it too.
KernelUnpack unpackKernel(const BzImage& bz);

}  // namespace cxvm::boot
