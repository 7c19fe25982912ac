#include "boot/LinuxBootParams.h"

#include "util/Error.h"

#include <algorithm>

namespace cxvm::boot {

LinuxBootParams::LinuxBootParams(std::span<const std::uint8_t> setupHeader) {
    if (setupHeader.size() > kSetupHeaderEnd - kSetupHeader)
        throw Error::format("setup header of {} bytes does not fit boot_params (at most {}): "
                            "the length byte at 0x201 is corrupt",
                            setupHeader.size(), kSetupHeaderEnd - kSetupHeader);
    std::copy(setupHeader.begin(), setupHeader.end(), page_.begin() + kSetupHeader);
}

void LinuxBootParams::put32(std::size_t off, std::uint32_t v) {
    for (std::size_t i = 0; i < 4; ++i) page_.at(off + i) = static_cast<std::uint8_t>(v >> (8 * i));
}

void LinuxBootParams::put64(std::size_t off, std::uint64_t v) {
    put32(off, static_cast<std::uint32_t>(v));
    put32(off + 4, static_cast<std::uint32_t>(v >> 32));
}

std::uint32_t LinuxBootParams::u32(std::size_t off) const {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(page_.at(off + i)) << (8 * i);
    return v;
}

std::uint64_t LinuxBootParams::u64(std::size_t off) const {
    return u32(off) | (static_cast<std::uint64_t>(u32(off + 4)) << 32);
}

void LinuxBootParams::setCommandLine(std::uint64_t gpa) {
    put32(kCmdLinePtr, static_cast<std::uint32_t>(gpa));
    put32(kExtCmdLinePtr, static_cast<std::uint32_t>(gpa >> 32));
}

void LinuxBootParams::setRamdisk(std::uint64_t gpa, std::uint64_t size) {
    put32(kRamdiskImage, static_cast<std::uint32_t>(gpa));
    put32(kExtRamdiskImage, static_cast<std::uint32_t>(gpa >> 32));
    put32(kRamdiskSize, static_cast<std::uint32_t>(size));
    put32(kExtRamdiskSize, static_cast<std::uint32_t>(size >> 32));
}

void LinuxBootParams::setE820(std::span<const E820Entry> map) {
    if (map.size() > kE820MaxEntries)
        throw Error::format("e820 map of {} entries exceeds boot_params' {}", map.size(),
                            kE820MaxEntries);
    put8(kE820Entries, static_cast<std::uint8_t>(map.size()));
    std::size_t off = kE820Table;
    for (const E820Entry& e : map) {
        put64(off, e.addr);
        put64(off + 8, e.size);
        put32(off + 16, static_cast<std::uint32_t>(e.type));
        off += kE820EntrySize;
    }
}

}  // namespace cxvm::boot
