#pragma once
// A Linux bzImage split into its parts, per the x86 boot protocol
// (Linux Documentation/arch/x86/boot.rst, "The real-mode kernel header"): the real-mode
// setup code, whose first sector holds the setup header at 0x1F1, and the
// protected-mode kernel that a 32-bit loader copies to code32_start (normally 1 MiB).
#include <cstdint>
#include <span>
#include <string>

namespace cxvm::boot {

// loadflags bits (boot.rst, offset 0x211).
enum class LoadFlag : std::uint8_t {
    LoadedHigh = 0x01,    // protected-mode code loads at 0x100000 (every bzImage)
    KaslrFlag = 0x02,     // set by the kernel, not the loader
    QuietFlag = 0x20,
    KeepSegments = 0x40,  // obsolete
    CanUseHeap = 0x80,    // heap_end_ptr is valid
};

// xloadflags bits (protocol 2.12+, offset 0x236).
enum class XLoadFlag : std::uint16_t {
    Kernel64 = 0x01,           // has the legacy 64-bit entry point at 0x200
    CanBeLoadedAbove4G = 0x02, // kernel/boot_params/cmdline/ramdisk may be above 4 GiB
    EfiHandover32 = 0x04,
    EfiHandover64 = 0x08,
    EfiKexec = 0x10,
    Has5LevelPaging = 0x20,
    MemEncryption = 0x40,
};

struct BzImage {
    // Setup header fields (offsets from the start of the image).
    std::uint8_t setupSects = 0;        // 0x1F1; 0 means 4
    std::uint16_t rootFlags = 0;        // 0x1F2
    std::uint32_t sysSize = 0;          // 0x1F4, in 16-byte paragraphs
    std::uint16_t vidMode = 0;          // 0x1FA
    std::uint16_t rootDev = 0;          // 0x1FC
    std::uint16_t bootFlag = 0;         // 0x1FE, 0xAA55
    std::uint32_t headerMagic = 0;      // 0x202, "HdrS"
    std::uint16_t protocolVersion = 0;  // 0x206, major << 8 | minor
    std::uint16_t kernelVersionOffset = 0;  // 0x20E, string at 0x200 + this
    std::uint8_t loadFlags = 0;         // 0x211
    std::uint32_t code32Start = 0;      // 0x214
    std::uint32_t initrdAddrMax = 0;    // 0x22C (2.03+; 0x37FFFFFF before)
    std::uint32_t kernelAlignment = 0;  // 0x230 (2.05+)
    bool relocatable = false;           // 0x234 (2.05+)
    std::uint8_t minAlignment = 0;      // 0x235 (2.10+), log2
    std::uint16_t xloadFlags = 0;       // 0x236 (2.12+)
    std::uint32_t cmdlineSize = 0;      // 0x238 (2.06+; 255 before)
    std::uint32_t hardwareSubarch = 0;  // 0x23C (2.07+)
    std::uint32_t payloadOffset = 0;    // 0x248 (2.08+), from the protected-mode code
    std::uint32_t payloadLength = 0;    // 0x24C (2.08+)
    std::uint64_t prefAddress = 0;      // 0x258 (2.10+)
    std::uint32_t initSize = 0;         // 0x260 (2.10+), linear memory the kernel needs
    std::uint32_t handoverOffset = 0;   // 0x264 (2.11+)
    std::uint32_t kernelInfoOffset = 0; // 0x268 (2.15+)

    std::string kernelVersion;  // e.g. "6.1.0-50-686 (debian-kernel@...) #1 SMP ..."; may be empty

    // Views into the image passed to parse(); valid as long as it is.
    std::span<const std::uint8_t> setup;   // real-mode code: (setup_sects + 1) * 512 bytes
    std::span<const std::uint8_t> kernel;  // protected-mode kernel: the rest
    std::span<const std::uint8_t> payload; // compressed kernel inside `kernel`; empty before 2.08
    // The setup header as a loader copies it into boot_params (0x1F1 up to the end the
    // jump at 0x200 gives: 0x202 + the byte at 0x201).
    std::span<const std::uint8_t> setupHeader;

    // Parses `image`; throws cxvm::Error saying why it is not a usable bzImage.
    static BzImage parse(std::span<const std::uint8_t> image);

    [[nodiscard]] bool has(LoadFlag f) const { return loadFlags & static_cast<std::uint8_t>(f); }
    [[nodiscard]] bool has(XLoadFlag f) const { return xloadFlags & static_cast<std::uint16_t>(f); }
    [[nodiscard]] unsigned protocolMajor() const { return protocolVersion >> 8; }
    [[nodiscard]] unsigned protocolMinor() const { return protocolVersion & 0xFF; }
    // Size of the real-mode part in bytes.
    [[nodiscard]] std::size_t setupSize() const { return setup.size(); }
};

}  // namespace cxvm::boot
