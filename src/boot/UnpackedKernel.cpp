#include "boot/UnpackedKernel.h"

#include "util/Error.h"

#include <fmt/ranges.h>

#include <algorithm>

namespace cxvm::boot {

KernelUnpack unpackKernel(const BzImage& bz) {
    KernelUnpack r;
    if (bz.protocolVersion < 0x020A) {
        r.notUnpacked = fmt::format("boot protocol {}.{:02} has no pref_address/init_size (2.10+)",
                                    bz.protocolMajor(), bz.protocolMinor());
        return r;
    }
    if (bz.has(XLoadFlag::Kernel64)) {
        r.notUnpacked = "a 64-bit kernel (host unpacking covers 32-bit kernels)";
        return r;
    }
    if (bz.payload.empty()) {
        r.notUnpacked = "the image has no payload (payload_length 0)";
        return r;
    }
    const PayloadFormat format = detectPayloadFormat(bz.payload);
    if (format == PayloadFormat::Unknown) {
        const auto head = bz.payload.first(std::min<std::size_t>(bz.payload.size(), 4));
        r.notUnpacked = fmt::format("payload format not recognised (starts {:02x})",
                                    fmt::join(head, " "));
        return r;
    }
    if (!hostCanDecompress(format)) {
        r.notUnpacked = fmt::format("payload is {}", payloadFormatName(format));
        return r;
    }

    const auto t0 = std::chrono::steady_clock::now();
    UnpackedKernel k;
    k.format = format;
    // init_size covers the decompressed payload: the decompressor writes its whole
    // output into [load address, + init_size) (arch/x86/boot/header.S, INIT_SIZE >=
    // z_output_len; scripts mkpiggy).
    const std::size_t bound = std::min<std::size_t>(bz.initSize, kMaxUnpackedKernel);
    k.vmlinux = decompressPayload(bz.payload, format, bound, {bz.setupSize() + bz.payloadOffset});
    if (VmlinuxElf::isElf64(k.vmlinux)) {
        r.notUnpacked = fmt::format("payload is a 64-bit vmlinux ({})", payloadFormatName(format));
        return r;
    }
    const std::uint64_t windowEnd =
        bz.prefAddress + std::max<std::uint64_t>(bz.initSize, bz.kernel.size());
    try {
        k.elf = VmlinuxElf::parse(k.vmlinux, bz.prefAddress, windowEnd);
    } catch (const Error& e) {
        throw e.withContext(fmt::format("kernel payload ({}, unpacked to {} bytes)",
                                        payloadFormatName(format), k.vmlinux.size()));
    }
    k.took = std::chrono::steady_clock::now() - t0;
    r.kernel = std::move(k);
    return r;
}

}  // namespace cxvm::boot
