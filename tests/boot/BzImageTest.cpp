#include "boot/BzImage.h"
#include "util/Error.h"
#include "util/File.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

using namespace cxvm;
using namespace cxvm::boot;

namespace {

// A synthetic bzImage: setup header fields at their boot.rst offsets, then `kernelSize`
// bytes of "protected-mode kernel".
struct FakeBzImage {
    std::vector<std::uint8_t> b;

    explicit FakeBzImage(std::uint8_t setupSects = 4, std::size_t kernelSize = 4096,
                         std::uint16_t version = 0x020F) {
        b.assign((setupSects + 1) * 512 + kernelSize, 0);
        b[0x1F1] = setupSects;
        put16(0x1FE, 0xAA55);
        b[0x200] = 0xEB;                    // jmp short
        b[0x201] = 0x6A;                    // header ends at 0x26C
        put32(0x202, 0x53726448);           // "HdrS"
        put16(0x206, version);
        put16(0x20E, 0x300);                // version string at 0x500
        b[0x211] = 0x81;                    // LOADED_HIGH | CAN_USE_HEAP
        put32(0x214, 0x100000);
        put32(0x1F4, static_cast<std::uint32_t>(kernelSize / 16));
        put32(0x22C, 0x7FFFFFFF);
        put32(0x230, 0x200000);
        b[0x234] = 1;
        b[0x235] = 21;
        put16(0x236, 0x0003);               // XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G
        put32(0x238, 2047);
        put32(0x248, 0x40);
        put32(0x24C, 0x100);
        put64(0x258, 0x1000000);
        put32(0x260, 0x2000000);
        const std::string ver = "6.1.0-test (builder@host) #1";
        std::copy(ver.begin(), ver.end(), b.begin() + 0x500);
    }
    void put16(std::size_t at, std::uint16_t v) { for (int i = 0; i < 2; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (8 * i)); }
    void put32(std::size_t at, std::uint32_t v) { for (int i = 0; i < 4; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (8 * i)); }
    void put64(std::size_t at, std::uint64_t v) { for (int i = 0; i < 8; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (8 * i)); }
};

std::string errorOf(std::span<const std::uint8_t> bytes) {
    try {
        BzImage::parse(bytes);
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

std::filesystem::path kitDir() {
    if (const char* c = std::getenv("CXVM_CACHE"); c && *c) return std::filesystem::path(c) / "kit";
    return std::filesystem::path(CXVM_SOURCE_DIR) / ".cache/kit";
}

}  // namespace

TEST(BzImage, ParsesEverySetupHeaderField) {
    FakeBzImage f;
    const auto k = BzImage::parse(f.b);
    EXPECT_EQ(k.setupSects, 4);
    EXPECT_EQ(k.bootFlag, 0xAA55);
    EXPECT_EQ(k.headerMagic, 0x53726448u);
    EXPECT_EQ(k.protocolMajor(), 2u);
    EXPECT_EQ(k.protocolMinor(), 15u);
    EXPECT_TRUE(k.has(LoadFlag::LoadedHigh));
    EXPECT_TRUE(k.has(LoadFlag::CanUseHeap));
    EXPECT_FALSE(k.has(LoadFlag::QuietFlag));
    EXPECT_EQ(k.code32Start, 0x100000u);
    EXPECT_EQ(k.initrdAddrMax, 0x7FFFFFFFu);
    EXPECT_EQ(k.kernelAlignment, 0x200000u);
    EXPECT_TRUE(k.relocatable);
    EXPECT_EQ(k.minAlignment, 21);
    EXPECT_TRUE(k.has(XLoadFlag::Kernel64));
    EXPECT_TRUE(k.has(XLoadFlag::CanBeLoadedAbove4G));
    EXPECT_FALSE(k.has(XLoadFlag::EfiHandover32));
    EXPECT_EQ(k.cmdlineSize, 2047u);
    EXPECT_EQ(k.payloadOffset, 0x40u);
    EXPECT_EQ(k.payloadLength, 0x100u);
    EXPECT_EQ(k.prefAddress, 0x1000000u);
    EXPECT_EQ(k.initSize, 0x2000000u);
    EXPECT_EQ(k.kernelVersion, "6.1.0-test (builder@host) #1");
}

TEST(BzImage, SpansSplitSetupAndKernel) {
    FakeBzImage f(4, 8192);
    const auto k = BzImage::parse(f.b);
    EXPECT_EQ(k.setup.size(), 5u * 512);
    EXPECT_EQ(k.setup.data(), f.b.data());
    EXPECT_EQ(k.kernel.size(), 8192u);
    EXPECT_EQ(k.kernel.data(), f.b.data() + 5 * 512);
    EXPECT_EQ(k.payload.data(), k.kernel.data() + 0x40);
    EXPECT_EQ(k.payload.size(), 0x100u);
    EXPECT_EQ(k.setupHeader.data(), f.b.data() + 0x1F1);
    EXPECT_EQ(k.setupHeader.size(), 0x26Cu - 0x1F1);
}

TEST(BzImage, ZeroSetupSectsMeansFour) {
    FakeBzImage f(4);
    f.b[0x1F1] = 0;
    EXPECT_EQ(BzImage::parse(f.b).setup.size(), 5u * 512);
}

TEST(BzImage, OldProtocolsGetTheDocumentedDefaults) {
    FakeBzImage f(4, 4096, 0x0202);
    const auto k = BzImage::parse(f.b);
    EXPECT_EQ(k.initrdAddrMax, 0x37FFFFFFu);
    EXPECT_EQ(k.cmdlineSize, 255u);
    EXPECT_EQ(k.xloadFlags, 0);
    EXPECT_FALSE(k.relocatable);
    EXPECT_EQ(k.prefAddress, 0u);
    EXPECT_TRUE(k.payload.empty());
}

TEST(BzImage, RejectsNonBzImages) {
    EXPECT_NE(errorOf(std::vector<std::uint8_t>(100, 0)).find("too small"), std::string::npos);
    {
        FakeBzImage f;
        f.put16(0x1FE, 0);
        EXPECT_NE(errorOf(f.b).find("boot flag"), std::string::npos);
    }
    {
        FakeBzImage f;
        f.put32(0x202, 0x12345678);
        EXPECT_NE(errorOf(f.b).find("HdrS"), std::string::npos);
    }
    {
        FakeBzImage f;
        f.b[0x211] = 0;  // a zImage
        EXPECT_NE(errorOf(f.b).find("LOADED_HIGH"), std::string::npos);
    }
    {
        FakeBzImage f;
        f.put16(0x206, 0x0105);
        EXPECT_NE(errorOf(f.b).find("protocol version"), std::string::npos);
    }
    // An ELF file (e.g. a vmlinux) is not a bzImage.
    std::vector<std::uint8_t> elf(4096, 0);
    elf[0] = 0x7F, elf[1] = 'E', elf[2] = 'L', elf[3] = 'F';
    EXPECT_NE(errorOf(elf).find("not a bzImage"), std::string::npos);
}

TEST(BzImage, RejectsTruncatedImages) {
    {
        FakeBzImage f(4, 4096);
        f.b.resize(5 * 512);  // setup only
        EXPECT_NE(errorOf(f.b).find("no protected-mode kernel"), std::string::npos) << errorOf(f.b);
    }
    {
        FakeBzImage f(4, 4096);
        f.b[0x1F1] = 200;  // setup longer than the file
        EXPECT_NE(errorOf(f.b).find("setup_sects=200"), std::string::npos);
    }
    {
        FakeBzImage f(4, 4096);
        f.b.resize(f.b.size() - 16);  // syssize now exceeds the file
        EXPECT_NE(errorOf(f.b).find("syssize"), std::string::npos);
    }
    {
        FakeBzImage f;
        f.put32(0x24C, 0x10000);
        EXPECT_NE(errorOf(f.b).find("payload"), std::string::npos);
    }
    {
        FakeBzImage f;
        f.b[0x201] = 0xF0;  // header would end past boot_params' header area
        EXPECT_NE(errorOf(f.b).find("jump at 0x200"), std::string::npos);
    }
}

TEST(BzImage, RandomCorruptionNeverCrashes) {
    FakeBzImage good;
    std::mt19937 rng(42);
    int parsed = 0, rejected = 0;
    for (int i = 0; i < 3000; ++i) {
        auto b = good.b;
        // Corrupt a few header bytes and sometimes cut the file.
        for (int j = 0; j < 4; ++j) b[0x1F1 + rng() % 0x80] = static_cast<std::uint8_t>(rng());
        if (rng() % 4 == 0) b.resize(rng() % b.size());
        try {
            const auto k = BzImage::parse(b);
            ASSERT_LE(k.setup.size() + k.kernel.size(), b.size());
            ++parsed;
        } catch (const Error&) {
            ++rejected;
        }
    }
    EXPECT_GT(parsed, 0);
    EXPECT_GT(rejected, 0);
}

TEST(BzImage, TheKitKernelParses) {
    const auto kit = kitDir();
    if (!std::filesystem::exists(kit / "bzImage")) GTEST_SKIP() << "no guest kit at " << kit;
    const auto bytes = readFile(kit / "bzImage");
    const auto k = BzImage::parse(bytes);
    auto v = readFile(kit / "kernel-version");
    std::string release(v.begin(), v.end());
    release.erase(release.find('\n'));
    EXPECT_EQ(k.kernelVersion.substr(0, release.size() + 1), release + " ");
    EXPECT_GE(k.protocolVersion, 0x020A);
    EXPECT_TRUE(k.has(LoadFlag::LoadedHigh));
    EXPECT_FALSE(k.has(XLoadFlag::Kernel64)) << "the 686 kernel is 32-bit";
    EXPECT_EQ(k.code32Start, 0x100000u);
    EXPECT_EQ(k.setup.size(), (std::size_t{k.setupSects} + 1) * 512);
    EXPECT_EQ(k.setup.size() + k.kernel.size(), bytes.size());
    EXPECT_GE(k.kernel.size(), std::size_t{k.sysSize} * 16);
    EXPECT_GE(k.cmdlineSize, 255u);
    EXPECT_GT(k.initSize, k.kernel.size());
    // The payload is the compressed kernel: gzip, xz, zstd ... begin with their magic.
    ASSERT_GE(k.payload.size(), 4u);
}
