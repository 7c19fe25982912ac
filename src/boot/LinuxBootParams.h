#pragma once
// The "zero page" (struct boot_params, Linux arch/x86/include/uapi/asm/bootparam.h) a
// 32-bit boot loader hands to the kernel in ESI: the kernel's own setup header copied
// in at 0x1F1 and filled in by the loader, plus the e820 map. Built in a host buffer
// and copied into guest memory in one piece.
#include "boot/E820Map.h"

#include <array>
#include <cstdint>
#include <span>

namespace cxvm::boot {

class LinuxBootParams {
public:
    static constexpr std::size_t kSize = 4096;
    // Offsets in boot_params (bootparam.h; Documentation/arch/x86/zero-page.rst).
    static constexpr std::size_t kExtRamdiskImage = 0x0C0;
    static constexpr std::size_t kExtRamdiskSize = 0x0C4;
    static constexpr std::size_t kExtCmdLinePtr = 0x0C8;
    static constexpr std::size_t kAltMemK = 0x1E0;
    static constexpr std::size_t kE820Entries = 0x1E8;
    static constexpr std::size_t kSetupHeader = 0x1F1;
    static constexpr std::size_t kSetupHeaderEnd = 0x290;  // edd_mbr_sig_buffer follows
    static constexpr std::size_t kE820Table = 0x2D0;
    static constexpr std::size_t kE820MaxEntries = 128;
    static constexpr std::size_t kE820EntrySize = 20;
    // Setup header fields a loader writes (boot.rst, "The real-mode kernel header").
    static constexpr std::size_t kTypeOfLoader = 0x210;
    static constexpr std::size_t kLoadFlags = 0x211;
    static constexpr std::size_t kCode32Start = 0x214;
    static constexpr std::size_t kRamdiskImage = 0x218;
    static constexpr std::size_t kRamdiskSize = 0x21C;
    static constexpr std::size_t kCmdLinePtr = 0x228;

    // Starts from the kernel's setup header (0x1F1 .. its end); throws cxvm::Error when
    // it does not fit the zero page's header area.
    explicit LinuxBootParams(std::span<const std::uint8_t> setupHeader);

    void setTypeOfLoader(std::uint8_t t) { put8(kTypeOfLoader, t); }
    void setLoadFlags(std::uint8_t f) { put8(kLoadFlags, f); }
    [[nodiscard]] std::uint8_t loadFlags() const { return page_[kLoadFlags]; }
    void setCode32Start(std::uint32_t a) { put32(kCode32Start, a); }
    void setCommandLine(std::uint64_t gpa);
    void setRamdisk(std::uint64_t gpa, std::uint64_t size);
    void setAltMemK(std::uint32_t k) { put32(kAltMemK, k); }
    // Throws when the map has more entries than boot_params holds.
    void setE820(std::span<const E820Entry> map);

    [[nodiscard]] std::span<const std::uint8_t> bytes() const { return page_; }
    [[nodiscard]] std::uint8_t u8(std::size_t off) const { return page_.at(off); }
    [[nodiscard]] std::uint32_t u32(std::size_t off) const;
    [[nodiscard]] std::uint64_t u64(std::size_t off) const;

private:
    void put8(std::size_t off, std::uint8_t v) { page_.at(off) = v; }
    void put32(std::size_t off, std::uint32_t v);
    void put64(std::size_t off, std::uint64_t v);
    std::array<std::uint8_t, kSize> page_{};
};

}  // namespace cxvm::boot
