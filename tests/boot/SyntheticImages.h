#pragma once
// Test inputs for the boot loader, every field under the test's control: a bzImage
// (setup header + protected-mode kernel, optionally with a compressed payload), an ELF32
// i386 vmlinux, and gzip/xz streams made the way the kernel build makes them.
#include <lzma.h>
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <vector>

namespace cxvm::boot::testing {

inline constexpr std::uint64_t kMiB = 1 << 20;

inline void putLe(std::vector<std::uint8_t>& b, std::size_t at, std::uint64_t v, unsigned n) {
    for (unsigned i = 0; i < n; ++i) b.at(at + i) = static_cast<std::uint8_t>(v >> (8 * i));
}

// A bzImage with a 4-sector setup and `kernelBytes` of "protected-mode kernel".
struct SyntheticBzImage {
    std::vector<std::uint8_t> bytes;
    static constexpr std::size_t kSetup = 5 * 512;
    static constexpr std::size_t kPayloadOffset = 0x94;  // as Debian's 686 kernel

    explicit SyntheticBzImage(std::size_t kernelBytes = 64 * 1024, std::uint16_t protocol = 0x020F) {
        bytes.assign(kSetup + kernelBytes, 0);
        for (std::size_t i = 0; i < kernelBytes; ++i)
            bytes[kSetup + i] = static_cast<std::uint8_t>(i * 7 + 3);
        bytes[0x1F1] = 4;
        put32(0x1F4, static_cast<std::uint32_t>(kernelBytes / 16));
        put16(0x1FE, 0xAA55);
        bytes[0x200] = 0xEB;
        bytes[0x201] = 0x6A;  // header ends at 0x26C (protocol 2.15's kernel_info_offset + 4)
        put32(0x202, 0x53726448);
        put16(0x206, protocol);
        bytes[0x211] = 0x01 | 0x80;  // LOADED_HIGH | CAN_USE_HEAP
        put32(0x214, 0x100000);
        put32(0x22C, 0x7FFFFFFF);
        put32(0x230, 0x1000000);
        bytes[0x234] = 1;
        put32(0x238, 2048);
        put64(0x258, 0x1000000);  // pref_address 16 MiB (Debian's 686 kernel)
        put32(0x260, 4 * kMiB);   // init_size
    }
    // Puts `payload` + its 4-byte length (as the kernel build's size_append) into the
    // protected-mode kernel at kPayloadOffset and points payload_offset/length at it.
    void setPayload(std::span<const std::uint8_t> payload) {
        const std::size_t need = kSetup + kPayloadOffset + payload.size() + 4 + 16;
        if (bytes.size() < need) bytes.resize((need + 15) & ~std::size_t{15}, 0);
        std::copy(payload.begin(), payload.end(), bytes.begin() + kSetup + kPayloadOffset);
        put32(kSetup + kPayloadOffset + payload.size(), static_cast<std::uint32_t>(payload.size()));
        put32(0x1F4, static_cast<std::uint32_t>((bytes.size() - kSetup) / 16));
        put32(0x248, kPayloadOffset);
        put32(0x24C, static_cast<std::uint32_t>(payload.size() + 4));
    }
    void put16(std::size_t o, std::uint16_t v) { putLe(bytes, o, v, 2); }
    void put32(std::size_t o, std::uint32_t v) { putLe(bytes, o, v, 4); }
    void put64(std::size_t o, std::uint64_t v) { putLe(bytes, o, v, 8); }
    [[nodiscard]] std::size_t payloadFileOffset() const { return kSetup + kPayloadOffset; }
};

// An ELF32 i386 ET_EXEC: header, program headers, then each segment's file bytes.
struct SyntheticElf {
    struct Segment {
        std::uint32_t type = 1;  // PT_LOAD
        std::uint32_t paddr = 0;
        std::vector<std::uint8_t> bytes;
        std::uint32_t memSize = 0;  // 0: bytes.size()
        std::uint32_t flags = 5;    // R E
    };
    std::uint32_t entry = 0;
    std::vector<Segment> segments;

    // Offsets of the fields in the built file (for corruption tests).
    static constexpr std::size_t kPhoff = 52;
    static std::size_t phdr(std::size_t i) { return kPhoff + 32 * i; }

    [[nodiscard]] std::vector<std::uint8_t> build() const {
        std::size_t data = kPhoff + 32 * segments.size();
        std::size_t size = data;
        for (const auto& s : segments) size += s.bytes.size();
        std::vector<std::uint8_t> f(size, 0);
        const std::uint8_t ident[] = {0x7F, 'E', 'L', 'F', 1, 1, 1, 0};
        std::copy(std::begin(ident), std::end(ident), f.begin());
        putLe(f, 16, 2, 2);  // ET_EXEC
        putLe(f, 18, 3, 2);  // EM_386
        putLe(f, 20, 1, 4);
        putLe(f, 24, entry, 4);
        putLe(f, 28, kPhoff, 4);
        putLe(f, 40, 52, 2);
        putLe(f, 42, 32, 2);
        putLe(f, 44, segments.size(), 2);
        for (std::size_t i = 0; i < segments.size(); ++i) {
            const auto& s = segments[i];
            const std::size_t ph = phdr(i);
            putLe(f, ph + 0, s.type, 4);
            putLe(f, ph + 4, data, 4);
            putLe(f, ph + 8, 0xC0000000u + s.paddr, 4);  // p_vaddr: PAGE_OFFSET + paddr
            putLe(f, ph + 12, s.paddr, 4);
            putLe(f, ph + 16, s.bytes.size(), 4);
            putLe(f, ph + 20, s.memSize ? s.memSize : s.bytes.size(), 4);
            putLe(f, ph + 24, s.flags, 4);
            putLe(f, ph + 28, 0x1000, 4);
            std::copy(s.bytes.begin(), s.bytes.end(), f.begin() + static_cast<std::ptrdiff_t>(data));
            data += s.bytes.size();
        }
        return f;
    }
};

inline std::vector<std::uint8_t> patterned(std::size_t n, unsigned seed) {
    std::vector<std::uint8_t> v(n);
    std::uint32_t x = seed * 2654435761u + 1;
    for (std::size_t i = 0; i < n; ++i) {
        // Compressible but not trivial: runs of a slowly changing pseudo-random byte.
        if (i % 16 == 0) x = x * 1103515245u + 12345u;
        v[i] = static_cast<std::uint8_t>((x >> 16) + (i % 3));
    }
    return v;
}

// A text segment at 16 MiB (entry at its start) and a data segment with a .bss tail.
inline SyntheticElf twoSegmentKernel() {
    SyntheticElf e;
    e.entry = 0x1000000;
    e.segments.push_back({1, 0x1000000, patterned(40000, 1), 0, 5});
    e.segments.push_back({1, 0x1010000, patterned(12000, 2), 0x9000, 6});
    e.segments.push_back({4, 0x1000100, {}, 0, 4});  // PT_NOTE: ignored
    return e;
}

// gzip as `gzip -n -9` (the kernel's cmd_gzip).
inline std::vector<std::uint8_t> gzipOf(std::span<const std::uint8_t> in) {
    z_stream z{};
    if (deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("deflateInit2");
    std::vector<std::uint8_t> out(deflateBound(&z, in.size()));
    z.next_in = const_cast<Bytef*>(in.data());
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    const int r = deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    if (r != Z_STREAM_END) throw std::runtime_error("deflate");
    return out;
}

// xz as scripts/xz_wrap.sh for x86: --check=crc32 --x86 --lzma2=,dict=32MiB.
inline std::vector<std::uint8_t> xzOf(std::span<const std::uint8_t> in) {
    lzma_options_lzma lz{};
    lzma_lzma_preset(&lz, 6);
    lz.dict_size = 1 << 20;  // small inputs: a smaller dictionary (as the kernel's 32 MiB)
    lzma_filter filters[] = {{LZMA_FILTER_X86, nullptr},
                             {LZMA_FILTER_LZMA2, &lz},
                             {LZMA_VLI_UNKNOWN, nullptr}};
    std::vector<std::uint8_t> out(lzma_stream_buffer_bound(in.size()));
    std::size_t pos = 0;
    if (lzma_stream_buffer_encode(filters, LZMA_CHECK_CRC32, nullptr, in.data(), in.size(),
                                  out.data(), &pos, out.size()) != LZMA_OK)
        throw std::runtime_error("lzma_stream_buffer_encode");
    out.resize(pos);
    return out;
}

// The guest kit's kernel (Debian 686), when fetched: $CXVM_CACHE/kit/bzImage.
inline std::filesystem::path kitKernelPath() {
    const char* cache = std::getenv("CXVM_CACHE");
    return cache && *cache ? std::filesystem::path(cache) / "kit/bzImage"
                           : std::filesystem::path(CXVM_SOURCE_DIR) / ".cache/kit/bzImage";
}

}  // namespace cxvm::boot::testing
