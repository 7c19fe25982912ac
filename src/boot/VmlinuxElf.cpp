// ELF32 per the System V ABI (gABI "ELF Header", "Program Header") and its i386
// supplement: little-endian, EM_386. Only what booting needs is read; everything that
// would make a loader write outside the file or the kernel's memory window is an error.
#include "boot/VmlinuxElf.h"

#include "util/Error.h"

#include <algorithm>

namespace cxvm::boot {
namespace {

// gABI field offsets (Elf32_Ehdr, Elf32_Phdr).
constexpr std::size_t kEhdrSize = 52;
constexpr std::size_t kEiClass = 4, kEiData = 5, kEiVersion = 6;
constexpr std::size_t kEType = 16, kEMachine = 18, kEVersion = 20, kEEntry = 24, kEPhoff = 28,
                      kEPhentsize = 42, kEPhnum = 44;
constexpr std::size_t kPhdrSize = 32;
constexpr std::size_t kPType = 0, kPOffset = 4, kPPaddr = 12, kPFilesz = 16, kPMemsz = 20,
                      kPFlags = 24;
constexpr std::uint8_t kElfClass32 = 1, kElfClass64 = 2, kElfData2Lsb = 1, kEvCurrent = 1;
constexpr std::uint16_t kEtExec = 2, kEm386 = 3;
constexpr std::uint32_t kPtLoad = 1;

std::uint32_t le32(std::span<const std::uint8_t> b, std::size_t at) {
    return b[at] | b[at + 1] << 8 | b[at + 2] << 16 | static_cast<std::uint32_t>(b[at + 3]) << 24;
}
std::uint16_t le16(std::span<const std::uint8_t> b, std::size_t at) {
    return static_cast<std::uint16_t>(b[at] | b[at + 1] << 8);
}

bool hasMagic(std::span<const std::uint8_t> elf) {
    return elf.size() >= 4 && elf[0] == 0x7F && elf[1] == 'E' && elf[2] == 'L' && elf[3] == 'F';
}

}  // namespace

bool VmlinuxElf::isElf64(std::span<const std::uint8_t> elf) {
    return hasMagic(elf) && elf.size() > kEiClass && elf[kEiClass] == kElfClass64;
}

VmlinuxElf VmlinuxElf::parse(std::span<const std::uint8_t> elf, std::uint64_t windowStart,
                             std::uint64_t windowEnd) {
    if (elf.size() < kEhdrSize)
        throw Error::format("vmlinux: {} bytes is too small for an ELF header ({} bytes)",
                            elf.size(), kEhdrSize);
    if (!hasMagic(elf))
        throw Error::format("vmlinux: no ELF magic at offset 0 (found {:02x} {:02x} {:02x} {:02x})",
                            elf[0], elf[1], elf[2], elf[3]);
    auto field = [&](std::size_t at, std::uint32_t got, std::uint32_t want, std::string_view name,
                     std::string_view meaning) {
        if (got != want)
            throw Error::format("vmlinux: {} at offset {:#x} is {}, expected {} ({})", name, at,
                                got, want, meaning);
    };
    field(kEiClass, elf[kEiClass], kElfClass32, "EI_CLASS", "ELFCLASS32: a 32-bit kernel");
    field(kEiData, elf[kEiData], kElfData2Lsb, "EI_DATA", "ELFDATA2LSB: little endian");
    field(kEiVersion, elf[kEiVersion], kEvCurrent, "EI_VERSION", "EV_CURRENT");
    field(kEType, le16(elf, kEType), kEtExec, "e_type", "ET_EXEC");
    field(kEMachine, le16(elf, kEMachine), kEm386, "e_machine", "EM_386");
    field(kEVersion, le32(elf, kEVersion), kEvCurrent, "e_version", "EV_CURRENT");
    field(kEPhentsize, le16(elf, kEPhentsize), kPhdrSize, "e_phentsize", "sizeof(Elf32_Phdr)");

    const std::uint64_t phoff = le32(elf, kEPhoff);
    const std::uint64_t phnum = le16(elf, kEPhnum);
    if (phnum == 0 || phnum > kMaxSegments)
        throw Error::format("vmlinux: e_phnum at offset {:#x} is {}, expected 1..{}", kEPhnum,
                            phnum, kMaxSegments);
    if (phoff + phnum * kPhdrSize > elf.size())
        throw Error::format("vmlinux: the program header table at offset {:#x} ({} entries of {} "
                            "bytes) runs past the end of the {}-byte file",
                            phoff, phnum, kPhdrSize, elf.size());

    VmlinuxElf v;
    v.entry = le32(elf, kEEntry);
    for (std::size_t i = 0; i < phnum; ++i) {
        const std::size_t ph = phoff + i * kPhdrSize;
        if (le32(elf, ph + kPType) != kPtLoad) continue;
        VmlinuxSegment s;
        s.fileOffset = le32(elf, ph + kPOffset);
        s.paddr = le32(elf, ph + kPPaddr);
        s.fileSize = le32(elf, ph + kPFilesz);
        s.memSize = le32(elf, ph + kPMemsz);
        s.flags = le32(elf, ph + kPFlags);
        const auto where = fmt::format("vmlinux: PT_LOAD program header {} (offset {:#x})", i, ph);
        if (s.fileSize > s.memSize)
            throw Error::format("{}: p_filesz {:#x} is larger than p_memsz {:#x}", where,
                                s.fileSize, s.memSize);
        if (s.fileOffset + s.fileSize > elf.size())
            throw Error::format("{}: file bytes [{:#x}, {:#x}) run past the end of the {}-byte "
                                "file",
                                where, s.fileOffset, s.fileOffset + s.fileSize, elf.size());
        if (s.memSize == 0) continue;
        if (s.paddr < windowStart || s.end() > windowEnd)
            throw Error::format("{}: physical range [{:#x}, {:#x}) lies outside the kernel's "
                                "memory [{:#x}, {:#x}) (load address + init_size)",
                                where, s.paddr, s.end(), windowStart, windowEnd);
        v.segments.push_back(s);
    }
    if (v.segments.empty())
        throw Error::format("vmlinux: none of its {} program headers is a non-empty PT_LOAD",
                            phnum);
    std::sort(v.segments.begin(), v.segments.end(),
              [](const VmlinuxSegment& a, const VmlinuxSegment& b) { return a.paddr < b.paddr; });
    for (std::size_t i = 1; i < v.segments.size(); ++i) {
        const auto &a = v.segments[i - 1], &b = v.segments[i];
        if (a.end() > b.paddr)
            throw Error::format("vmlinux: PT_LOAD segments [{:#x}, {:#x}) and [{:#x}, {:#x}) "
                                "overlap",
                                a.paddr, a.end(), b.paddr, b.end());
    }
    const bool entryLoaded = std::any_of(v.segments.begin(), v.segments.end(), [&](const auto& s) {
        return v.entry >= s.paddr && v.entry < s.paddr + s.fileSize;
    });
    if (!entryLoaded)
        throw Error::format("vmlinux: entry point e_entry {:#x} (offset {:#x}) is not inside the "
                            "file bytes of any PT_LOAD segment",
                            v.entry, kEEntry);
    return v;
}

}  // namespace cxvm::boot
