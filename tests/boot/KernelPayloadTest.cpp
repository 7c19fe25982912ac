// Payload format detection and host-side gzip/xz decompression: round trips, the output
// bound, and every truncation or corruption being a cxvm::Error that names the format
// and the bzImage offset.
#include "boot/KernelPayload.h"
#include "SyntheticImages.h"
#include "util/Error.h"

#include <gtest/gtest.h>

#include <string>

namespace cxvm::boot {
namespace {

using testing::gzipOf;
using testing::patterned;
using testing::xzOf;

std::string errorOf(std::span<const std::uint8_t> in, PayloadFormat f, std::size_t max,
                    PayloadSource src = {}) {
    try {
        decompressPayload(in, f, max, src);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

TEST(KernelPayload, DetectsEveryKernelCompressorByMagic) {
    struct Case {
        std::vector<std::uint8_t> head;
        PayloadFormat want;
        std::string_view name;
    };
    const Case cases[] = {
        {{0x1F, 0x8B, 0x08, 0x00}, PayloadFormat::Gzip, "gzip"},
        {{0x1F, 0x9E, 0x08}, PayloadFormat::Gzip, "gzip"},
        {{0xFD, '7', 'z', 'X', 'Z', 0x00, 0x00, 0x01}, PayloadFormat::Xz, "xz"},
        {{'B', 'Z', 'h', '9'}, PayloadFormat::Bzip2, "bzip2"},
        {{0x5D, 0x00, 0x00, 0x80}, PayloadFormat::Lzma, "lzma"},
        {{0x89, 'L', 'Z', 'O', 0x00}, PayloadFormat::Lzo, "lzo"},
        {{0x02, 0x21, 0x4C, 0x18}, PayloadFormat::Lz4, "lz4"},
        {{0x28, 0xB5, 0x2F, 0xFD}, PayloadFormat::Zstd, "zstd"},
        {{0x7F, 'E', 'L', 'F'}, PayloadFormat::Unknown, "unknown"},
        {{0xFD, '7', 'z', 'X', 'Z'}, PayloadFormat::Unknown, "unknown"},  // magic cut short
        {{}, PayloadFormat::Unknown, "unknown"},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(detectPayloadFormat(c.head), c.want) << c.name;
        EXPECT_EQ(payloadFormatName(detectPayloadFormat(c.head)), c.name);
    }
    EXPECT_TRUE(hostCanDecompress(PayloadFormat::Xz));
    EXPECT_TRUE(hostCanDecompress(PayloadFormat::Gzip));
    EXPECT_FALSE(hostCanDecompress(PayloadFormat::Lz4));
    EXPECT_FALSE(hostCanDecompress(PayloadFormat::Unknown));
}

TEST(KernelPayload, GzipAndXzRoundTripWithTheBuildsTrailingLength) {
    const auto data = patterned(300000, 7);
    for (auto [format, packed] : {std::pair{PayloadFormat::Gzip, gzipOf(data)},
                                  std::pair{PayloadFormat::Xz, xzOf(data)}}) {
        EXPECT_EQ(detectPayloadFormat(packed), format);
        EXPECT_EQ(decompressPayload(packed, format, data.size()), data);
        // The kernel build appends the 4-byte uncompressed length after the stream.
        packed.insert(packed.end(), {0xE0, 0x93, 0x04, 0x00});
        EXPECT_EQ(decompressPayload(packed, format, 64 * testing::kMiB), data);
    }
}

TEST(KernelPayload, OutputIsBoundedExactly) {
    const auto data = patterned(100000, 3);
    for (auto [format, packed] : {std::pair{PayloadFormat::Gzip, gzipOf(data)},
                                  std::pair{PayloadFormat::Xz, xzOf(data)}}) {
        EXPECT_EQ(decompressPayload(packed, format, data.size()).size(), data.size());
        const auto e = errorOf(packed, format, data.size() - 1, {0x5094});
        EXPECT_NE(e.find("decompresses to more than 99999 bytes"), std::string::npos) << e;
        EXPECT_NE(e.find("at bzImage offset 0x5094"), std::string::npos) << e;
        const auto zero = errorOf(packed, format, 0);
        EXPECT_NE(zero.find("more than 0 bytes"), std::string::npos) << zero;
    }
}

TEST(KernelPayload, EveryTruncationIsAnErrorNamingTheOffset) {
    const auto data = patterned(50000, 5);
    for (auto [format, packed] : {std::pair{PayloadFormat::Gzip, gzipOf(data)},
                                  std::pair{PayloadFormat::Xz, xzOf(data)}}) {
        const std::string name(payloadFormatName(format));
        for (std::size_t cut = 0; cut < packed.size(); ++cut) {
            const auto e = errorOf(std::span(packed).first(cut), format, 1 << 20, {0x1000});
            ASSERT_NE(e, "") << name << " cut at " << cut << " decompressed";
            EXPECT_NE(e.find("kernel payload (" + name + ", " + std::to_string(cut) + " bytes"),
                      std::string::npos)
                << e;
            EXPECT_NE(e.find("input consumed up to bzImage offset 0x"), std::string::npos) << e;
        }
        // A stream cut in its middle is reported as truncated.
        const auto mid = errorOf(std::span(packed).first(packed.size() / 2), format, 1 << 20);
        EXPECT_NE(mid.find("truncated"), std::string::npos) << mid;
    }
}

TEST(KernelPayload, EveryFlippedXzByteIsDetected) {
    // xz checks its headers (CRC32), the index and the data (--check=crc32): any flipped
    // byte of the stream is an error, never a wrong kernel.
    const auto data = patterned(20000, 9);
    const auto packed = xzOf(data);
    for (std::size_t i = 0; i < packed.size(); ++i) {
        auto bad = packed;
        bad[i] ^= 0x20;
        EXPECT_NE(errorOf(bad, PayloadFormat::Xz, 1 << 20), "") << "flip at " << i;
    }
}

TEST(KernelPayload, FlippedGzipBytesAreErrorsOrHarmless) {
    // gzip's CRC32 and length cover the data; some header bytes (MTIME, XFL, OS) are not
    // checked by anyone: those flips must leave the output unchanged.
    const auto data = patterned(20000, 11);
    const auto packed = gzipOf(data);
    std::size_t errors = 0;
    for (std::size_t i = 0; i < packed.size(); ++i) {
        auto bad = packed;
        bad[i] ^= 0x20;
        try {
            EXPECT_EQ(decompressPayload(bad, PayloadFormat::Gzip, 1 << 20), data) << "flip at " << i;
        } catch (const Error& e) {
            ++errors;
            EXPECT_NE(std::string(e.what()).find("kernel payload (gzip"), std::string::npos);
        }
    }
    EXPECT_GE(errors, packed.size() - 10);
}

TEST(KernelPayload, GarbageAndOtherFormatsAreErrors) {
    const std::vector<std::uint8_t> junk(1000, 0x5A);
    EXPECT_NE(errorOf(junk, PayloadFormat::Xz, 1 << 20).find("not an xz stream"), std::string::npos);
    EXPECT_NE(errorOf(junk, PayloadFormat::Gzip, 1 << 20).find("corrupt gzip data"),
              std::string::npos);
    EXPECT_NE(errorOf(junk, PayloadFormat::Lz4, 1 << 20).find("only gzip and xz"),
              std::string::npos);
}

}  // namespace
}  // namespace cxvm::boot
