#pragma once
// The compressed kernel inside a bzImage (boot.rst: payload_offset/payload_length, protocol
// 2.08+): which compressor made it, told by its magic bytes as the kernel's own
// lib/decompress.c tells them, and host-side decompression of the two formats cxvm
// unpacks itself (xz with liblzma, gzip with zlib). The output is what the kernel's
// decompressor writes to its output buffer: vmlinux (an ELF file), for x86-32 followed
// by the relocation table (arch/x86/boot/compressed/Makefile: vmlinux.bin.all).
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace cxvm::boot {

enum class PayloadFormat : std::uint8_t { Unknown, Gzip, Xz, Bzip2, Lzma, Lzo, Lz4, Zstd };

// "gzip", "xz", ... ("unknown" for Unknown).
std::string_view payloadFormatName(PayloadFormat f);

// The format whose magic starts `payload` (Unknown when none does).
PayloadFormat detectPayloadFormat(std::span<const std::uint8_t> payload);

// Whether decompressPayload() handles `f` on the host.
bool hostCanDecompress(PayloadFormat f);

// Where a payload came from, for error messages.
struct PayloadSource {
    std::uint64_t fileOffset = 0;  // offset of the payload in the bzImage file
};

// Decompresses the first stream of `payload` (gzip or xz; bytes after the stream, such as
// the 4-byte length the kernel build appends, are ignored). The output may be at most
// `maxBytes` long: the buffer grows with the output, never beyond that. Throws
// cxvm::Error naming the format and the bzImage offset for a truncated or corrupt
// stream, an output larger than `maxBytes`, or a format it cannot decompress.
std::vector<std::uint8_t> decompressPayload(std::span<const std::uint8_t> payload,
                                            PayloadFormat format, std::size_t maxBytes,
                                            const PayloadSource& source = {});

}  // namespace cxvm::boot
