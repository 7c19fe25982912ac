// Setup-header parsing per Documentation/arch/x86/boot.rst. Fields newer than the image's
// protocol version keep the defaults the document gives for older kernels.
#include "boot/BzImage.h"

#include "util/Error.h"

#include <algorithm>

namespace cxvm::boot {
namespace {

constexpr std::size_t kSetupHeaderAt = 0x1F1;
constexpr std::uint32_t kHdrS = 0x53726448;  // "HdrS" little-endian
constexpr std::uint16_t kBootFlag = 0xAA55;
// boot_params reserves 0x1F1..0x290 for the setup header (struct boot_params.hdr).
constexpr std::size_t kSetupHeaderLimit = 0x290;

template <typename T>
T le(std::span<const std::uint8_t> b, std::size_t at) {
    T v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(T{b[at + i]} << (8 * i));
    return v;
}

}  // namespace

BzImage BzImage::parse(std::span<const std::uint8_t> img) {
    if (img.size() < 0x206)
        throw Error::format("not a bzImage: {} bytes is too small to hold the Linux setup header",
                            img.size());
    BzImage k;
    k.bootFlag = le<std::uint16_t>(img, 0x1FE);
    if (k.bootFlag != kBootFlag)
        throw Error::format("not a bzImage: boot flag at 0x1FE is {:#06x}, expected 0xaa55",
                            k.bootFlag);
    k.headerMagic = le<std::uint32_t>(img, 0x202);
    if (k.headerMagic != kHdrS)
        throw Error::format("not a bzImage: no \"HdrS\" magic at 0x202 (found {:#010x}): an old "
                            "zImage or not a Linux kernel",
                            k.headerMagic);
    k.setupSects = img[kSetupHeaderAt];
    const std::size_t sects = k.setupSects == 0 ? 4 : k.setupSects;
    const std::size_t setupSize = (sects + 1) * 512;
    if (setupSize >= img.size())
        throw Error::format("bzImage truncated: setup_sects={} gives {} bytes of setup code, the "
                            "file has {} bytes and no protected-mode kernel",
                            k.setupSects, setupSize, img.size());
    k.setup = img.first(setupSize);
    k.kernel = img.subspan(setupSize);

    k.rootFlags = le<std::uint16_t>(img, 0x1F2);
    k.sysSize = le<std::uint32_t>(img, 0x1F4);
    k.vidMode = le<std::uint16_t>(img, 0x1FA);
    k.rootDev = le<std::uint16_t>(img, 0x1FC);
    k.protocolVersion = le<std::uint16_t>(img, 0x206);
    k.kernelVersionOffset = le<std::uint16_t>(img, 0x20E);
    k.loadFlags = img[0x211];
    k.code32Start = le<std::uint32_t>(img, 0x214);
    const auto v = k.protocolVersion;
    if (v < 0x0200)
        throw Error::format("bzImage: protocol version {}.{:02} is invalid with \"HdrS\"",
                            v >> 8, v & 0xFF);
    if (!k.has(LoadFlag::LoadedHigh))
        throw Error::format("not a bzImage: loadflags {:#04x} lacks LOADED_HIGH: a zImage, which "
                            "loads at 0x10000 and is not supported",
                            k.loadFlags);

    // Defaults for fields an older protocol lacks (boot.rst, per-field notes).
    k.initrdAddrMax = v >= 0x0203 ? le<std::uint32_t>(img, 0x22C) : 0x37FFFFFF;
    if (v >= 0x0205) {
        k.kernelAlignment = le<std::uint32_t>(img, 0x230);
        k.relocatable = img[0x234] != 0;
    }
    if (v >= 0x020A) k.minAlignment = img[0x235];
    if (v >= 0x020C) k.xloadFlags = le<std::uint16_t>(img, 0x236);
    k.cmdlineSize = v >= 0x0206 ? le<std::uint32_t>(img, 0x238) : 255;
    if (v >= 0x0207) k.hardwareSubarch = le<std::uint32_t>(img, 0x23C);
    if (v >= 0x0208) {
        k.payloadOffset = le<std::uint32_t>(img, 0x248);
        k.payloadLength = le<std::uint32_t>(img, 0x24C);
    }
    if (v >= 0x020A) {
        k.prefAddress = le<std::uint64_t>(img, 0x258);
        k.initSize = le<std::uint32_t>(img, 0x260);
    }
    if (v >= 0x020B) k.handoverOffset = le<std::uint32_t>(img, 0x264);
    if (v >= 0x020F) k.kernelInfoOffset = le<std::uint32_t>(img, 0x268);

    // The 2-byte jump at 0x200 skips the header: its end is 0x202 + the jump offset.
    const std::size_t headerEnd = 0x202 + img[0x201];
    if (img[0x200] != 0xEB || headerEnd > std::min(setupSize, kSetupHeaderLimit))
        throw Error::format("bzImage: the jump at 0x200 ({:02x} {:02x}) does not end the setup "
                            "header inside 0x202..{:#x}",
                            img[0x200], img[0x201], std::min(setupSize, kSetupHeaderLimit));
    k.setupHeader = img.subspan(kSetupHeaderAt, headerEnd - kSetupHeaderAt);

    if (std::uint64_t{k.sysSize} * 16 > k.kernel.size())
        throw Error::format("bzImage truncated: syssize says {} bytes of protected-mode kernel, "
                            "the file has {}",
                            std::uint64_t{k.sysSize} * 16, k.kernel.size());
    if (v >= 0x0208) {
        if (std::uint64_t{k.payloadOffset} + k.payloadLength > k.kernel.size())
            throw Error::format("bzImage: payload {:#x}+{:#x} runs past the protected-mode kernel "
                                "({:#x} bytes)",
                                k.payloadOffset, k.payloadLength, k.kernel.size());
        k.payload = k.kernel.subspan(k.payloadOffset, k.payloadLength);
    }
    if (k.kernelVersionOffset != 0) {
        // A NUL-terminated string in the setup code; a bad offset only loses the string.
        std::size_t at = 0x200 + std::size_t{k.kernelVersionOffset};
        while (at < setupSize && img[at] != 0 && img[at] >= 0x20 && img[at] < 0x7F &&
               k.kernelVersion.size() < 256)
            k.kernelVersion.push_back(static_cast<char>(img[at++]));
    }
    return k;
}

}  // namespace cxvm::boot
