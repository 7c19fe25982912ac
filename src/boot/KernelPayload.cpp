// Payload formats by magic (Linux lib/decompress.c, compressed_formats[]) and host-side
// gzip (zlib) / xz (liblzma) decompression into a buffer that grows with the output up to
// a caller-given bound: a hostile image can make cxvm allocate no more than that.
#include "boot/KernelPayload.h"

#include "util/Error.h"

#include <lzma.h>
#include <zlib.h>

#include <algorithm>
#include <array>

namespace cxvm::boot {
namespace {

struct FormatMagic {
    PayloadFormat format;
    std::string_view name;
    std::array<std::uint8_t, 6> magic;
    std::size_t length;
};

// lib/decompress.c; xz's magic is the full 6-byte stream header magic (xz file format
// 1.0.4, 2.1.1.1), lzma's the usual "properties 0x5D, dictionary size < 16 MiB".
constexpr std::array kFormats{
    FormatMagic{PayloadFormat::Gzip, "gzip", {0x1F, 0x8B}, 2},
    FormatMagic{PayloadFormat::Gzip, "gzip", {0x1F, 0x9E}, 2},  // old gzip, as the kernel
    FormatMagic{PayloadFormat::Xz, "xz", {0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00}, 6},
    FormatMagic{PayloadFormat::Bzip2, "bzip2", {0x42, 0x5A, 0x68}, 3},
    FormatMagic{PayloadFormat::Lzma, "lzma", {0x5D, 0x00, 0x00}, 3},
    FormatMagic{PayloadFormat::Lzo, "lzo", {0x89, 0x4C, 0x5A, 0x4F}, 4},
    FormatMagic{PayloadFormat::Lz4, "lz4", {0x02, 0x21, 0x4C, 0x18}, 4},
    FormatMagic{PayloadFormat::Zstd, "zstd", {0x28, 0xB5, 0x2F, 0xFD}, 4},
};

// liblzma's decoder memory limit. The kernel's xz uses a 32 MiB dictionary at most
// (scripts/xz_wrap.sh); the limit keeps a hostile header from asking for gigabytes.
constexpr std::uint64_t kXzMemLimit = 128ull << 20;

std::string mib(std::size_t bytes) {
    return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1 << 20));
}

// The output buffer: starts near the expected size, doubles up to `max` + 1 bytes (one
// more than allowed, so that an output of exactly `max` bytes reaches its stream end
// while a longer one is seen as such).
class GrowingOutput {
public:
    GrowingOutput(std::size_t expected, std::size_t max) : max_(max + 1) {
        buf_.resize(std::min(std::max<std::size_t>(expected, 64 * 1024), max_));
    }
    // Room for more output; false when the buffer is already at its bound.
    bool grow() {
        if (buf_.size() >= max_) return false;
        buf_.resize(buf_.size() > max_ / 2 ? max_ : std::max<std::size_t>(buf_.size() * 2, 1));
        return true;
    }
    std::uint8_t* at(std::size_t produced) { return buf_.data() + produced; }
    [[nodiscard]] std::size_t size() const { return buf_.size(); }
    std::vector<std::uint8_t> take(std::size_t produced) {
        buf_.resize(produced);
        buf_.shrink_to_fit();
        return std::move(buf_);
    }

private:
    std::size_t max_;
    std::vector<std::uint8_t> buf_;
};

class PayloadError {
public:
    PayloadError(std::string_view format, std::size_t size, const PayloadSource& src)
        : prefix_(fmt::format("kernel payload ({}, {} bytes at bzImage offset {:#x})", format,
                              size, src.fileOffset)),
          offset_(src.fileOffset) {}
    // `consumed`: compressed bytes read so far; names the bzImage offset it reached.
    [[nodiscard]] Error at(std::uint64_t consumed, std::string_view what) const {
        return Error::format("{}: {} (input consumed up to bzImage offset {:#x})", prefix_, what,
                             offset_ + consumed);
    }
    [[nodiscard]] Error tooLarge(std::size_t max) const {
        return Error::format("{}: decompresses to more than {} bytes ({}), the most the kernel "
                             "declares it needs (init_size): a corrupt or hostile image",
                             prefix_, max, mib(max));
    }

private:
    std::string prefix_;
    std::uint64_t offset_;
};

// One decoder call on the free part of the output buffer: what happened, and the total
// output so far.
enum class DecodeStep : std::uint8_t { Progress, OutputFull, StreamEnd };
struct DecodeResult {
    DecodeStep step;
    std::size_t totalOut;
};

// Calls `decode(next_out, avail_out)` until the stream ends, growing the buffer while
// the bound allows. `decode` throws for truncated or corrupt input.
template <typename Decode>
std::vector<std::uint8_t> drain(std::size_t expected, std::size_t max, const PayloadError& err,
                                Decode decode) {
    GrowingOutput out(expected, max);
    std::size_t produced = 0;
    for (;;) {
        const DecodeResult r = decode(out.at(produced), out.size() - produced);
        produced = r.totalOut;
        if (r.step == DecodeStep::StreamEnd) {
            if (produced > max) throw err.tooLarge(max);
            return out.take(produced);
        }
        if (r.step == DecodeStep::OutputFull && !out.grow()) throw err.tooLarge(max);
    }
}

struct LzmaStream {
    lzma_stream s = LZMA_STREAM_INIT;
    LzmaStream() = default;
    LzmaStream(const LzmaStream&) = delete;
    LzmaStream& operator=(const LzmaStream&) = delete;
    ~LzmaStream() { lzma_end(&s); }
};

std::string_view lzmaErrorText(lzma_ret r) {
    switch (r) {
    case LZMA_MEM_ERROR: return "out of host memory";
    case LZMA_MEMLIMIT_ERROR: return "the stream needs more decoder memory than the 128 MiB limit";
    case LZMA_FORMAT_ERROR: return "not an xz stream (bad stream header magic)";
    case LZMA_OPTIONS_ERROR: return "unsupported xz options (filter chain or header flags)";
    case LZMA_DATA_ERROR: return "corrupt xz data (bad header, compressed data or checksum)";
    case LZMA_BUF_ERROR: return "the xz stream ends early: truncated";
    case LZMA_UNSUPPORTED_CHECK: return "unsupported xz integrity check type";
    default: return "xz decoder error";
    }
}

std::vector<std::uint8_t> decompressXz(std::span<const std::uint8_t> in, std::size_t max,
                                       const PayloadError& err) {
    LzmaStream z;
    // One stream only (no LZMA_CONCATENATED): the length the kernel build appends after
    // the stream is not a second stream.
    if (lzma_ret r = lzma_stream_decoder(&z.s, kXzMemLimit, LZMA_TELL_UNSUPPORTED_CHECK);
        r != LZMA_OK)
        throw err.at(0, lzmaErrorText(r));
    z.s.next_in = in.data();
    z.s.avail_in = in.size();
    return drain(in.size() * 3, max, err, [&](std::uint8_t* next, std::size_t avail) {
        z.s.next_out = next;
        z.s.avail_out = avail;
        const lzma_ret r = lzma_code(&z.s, LZMA_FINISH);
        const std::size_t total = z.s.total_out;
        if (r == LZMA_STREAM_END) return DecodeResult{DecodeStep::StreamEnd, total};
        if ((r == LZMA_OK || r == LZMA_BUF_ERROR) && z.s.avail_out == 0)
            return DecodeResult{DecodeStep::OutputFull, total};
        if (r == LZMA_OK) return DecodeResult{DecodeStep::Progress, total};
        throw err.at(z.s.total_in, lzmaErrorText(r));
    });
}

struct ZStream {
    z_stream s{};
    bool live = false;
    ZStream() = default;
    ZStream(const ZStream&) = delete;
    ZStream& operator=(const ZStream&) = delete;
    ~ZStream() {
        if (live) inflateEnd(&s);
    }
};

std::vector<std::uint8_t> decompressGzip(std::span<const std::uint8_t> in, std::size_t max,
                                         const PayloadError& err) {
    // zlib counts in uInt: payload_length is 32 bits, and the output bound must fit too.
    if (in.size() > UINT32_MAX || max >= UINT32_MAX)
        throw err.at(0, "larger than 4 GiB");
    ZStream z;
    // 16 + MAX_WBITS: a gzip wrapper (RFC 1952) around deflate, header and CRC checked.
    if (inflateInit2(&z.s, 16 + MAX_WBITS) != Z_OK) throw err.at(0, "zlib initialisation failed");
    z.live = true;
    z.s.next_in = const_cast<Bytef*>(in.data());  // zlib's API is not const-correct
    z.s.avail_in = static_cast<uInt>(in.size());
    return drain(in.size() * 4, max, err, [&](std::uint8_t* next, std::size_t avail) {
        z.s.next_out = next;
        z.s.avail_out = static_cast<uInt>(avail);
        const int r = inflate(&z.s, Z_NO_FLUSH);
        const std::size_t total = z.s.total_out;
        if (r == Z_STREAM_END) return DecodeResult{DecodeStep::StreamEnd, total};
        if ((r == Z_OK || r == Z_BUF_ERROR) && z.s.avail_out == 0)
            return DecodeResult{DecodeStep::OutputFull, total};
        if (r == Z_OK) return DecodeResult{DecodeStep::Progress, total};
        if (r == Z_BUF_ERROR) throw err.at(z.s.total_in, "the gzip stream ends early: truncated");
        throw err.at(z.s.total_in,
                     fmt::format("corrupt gzip data: {}", z.s.msg ? z.s.msg : zError(r)));
    });
}

}  // namespace

std::string_view payloadFormatName(PayloadFormat f) {
    for (const auto& m : kFormats)
        if (m.format == f) return m.name;
    return "unknown";
}

PayloadFormat detectPayloadFormat(std::span<const std::uint8_t> payload) {
    for (const auto& m : kFormats)
        if (payload.size() >= m.length && std::equal(m.magic.begin(), m.magic.begin() + m.length,
                                                     payload.begin()))
            return m.format;
    return PayloadFormat::Unknown;
}

bool hostCanDecompress(PayloadFormat f) {
    return f == PayloadFormat::Gzip || f == PayloadFormat::Xz;
}

std::vector<std::uint8_t> decompressPayload(std::span<const std::uint8_t> payload,
                                            PayloadFormat format, std::size_t maxBytes,
                                            const PayloadSource& source) {
    const PayloadError err(payloadFormatName(format), payload.size(), source);
    if (maxBytes >= SIZE_MAX / 2) throw err.at(0, "no sane output bound given");
    switch (format) {
    case PayloadFormat::Xz: return decompressXz(payload, maxBytes, err);
    case PayloadFormat::Gzip: return decompressGzip(payload, maxBytes, err);
    default: throw err.at(0, "cxvm decompresses only gzip and xz on the host");
    }
}

}  // namespace cxvm::boot
