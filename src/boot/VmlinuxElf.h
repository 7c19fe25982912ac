#pragma once
// A 32-bit x86 vmlinux as the bzImage's decompressor sees it (arch/x86/boot/compressed/
// misc.c, parse_elf): an ELF32 i386 executable whose PT_LOAD segments go to their
// physical addresses (p_paddr) and whose entry point e_entry is physical too
// (vmlinux.lds.S: ENTRY(phys_startup_32)). Sections, symbols and the relocation table
// the build appends after the ELF file are not needed to boot it at its link address.
#include <cstdint>
#include <span>
#include <vector>

namespace cxvm::boot {

struct VmlinuxSegment {
    std::uint64_t paddr = 0;       // physical load address
    std::uint64_t fileOffset = 0;  // bytes [fileOffset, fileOffset + fileSize) of the file
    std::uint64_t fileSize = 0;
    std::uint64_t memSize = 0;  // >= fileSize; the tail is zero-filled
    std::uint32_t flags = 0;    // PF_X 1, PF_W 2, PF_R 4

    [[nodiscard]] std::uint64_t end() const { return paddr + memSize; }
};

struct VmlinuxElf {
    static constexpr std::size_t kMaxSegments = 64;

    std::uint64_t entry = 0;                // e_entry (physical)
    std::vector<VmlinuxSegment> segments;   // PT_LOAD with p_memsz > 0, sorted by paddr

    [[nodiscard]] std::uint64_t start() const { return segments.front().paddr; }
    [[nodiscard]] std::uint64_t end() const { return segments.back().end(); }

    // Whether `elf` starts with the ELF magic and says ELFCLASS64 (a 64-bit vmlinux,
    // which this parser does not take).
    static bool isElf64(std::span<const std::uint8_t> elf);

    // Parses `elf`; every segment must lie in the physical window [windowStart,
    // windowEnd) (the memory the kernel declares it needs from its load address). Throws
    // cxvm::Error naming the field and its file offset or the segment and its addresses:
    // not ELF, not ELF32 little-endian i386 ET_EXEC, program headers outside the file,
    // a segment's bytes outside the file, p_filesz > p_memsz, a segment outside the
    // window, overlapping segments, no PT_LOAD, an entry point outside every segment's
    // file bytes.
    static VmlinuxElf parse(std::span<const std::uint8_t> elf, std::uint64_t windowStart,
                            std::uint64_t windowEnd);
};

}  // namespace cxvm::boot
