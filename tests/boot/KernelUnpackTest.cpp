// Host-side kernel unpacking through the loader: synthetic bzImages with gzip/xz ELF
// payloads (segments at p_paddr, .bss tails zeroed, EIP = e_entry), the fall-backs to the
// in-guest decompressor with their reasons, errors for corrupt payloads, and the guest
// kit's real kernel.
#include "boot/LinuxBoot.h"
#include "boot/LinuxBootParams.h"
#include "boot/UnpackedKernel.h"
#include "SyntheticImages.h"
#include "util/Error.h"
#include "util/File.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace cxvm::boot {
namespace {

using testing::gzipOf;
using testing::kMiB;
using testing::SyntheticBzImage;
using testing::SyntheticElf;
using testing::twoSegmentKernel;
using testing::xzOf;

SyntheticBzImage imageWith(std::span<const std::uint8_t> payload) {
    SyntheticBzImage k;
    k.setPayload(payload);
    return k;
}

std::string errorOf(hw::GuestMemory& m, const SyntheticBzImage& k, LinuxBootOptions o = {}) {
    try {
        loadLinux(m, {k.bytes, {}, "console=ttyS0"}, o);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

std::vector<std::uint8_t> guestBytes(hw::GuestMemory& m, std::uint64_t gpa, std::size_t n) {
    std::vector<std::uint8_t> v(n);
    m.read(gpa, v);
    return v;
}

TEST(KernelUnpack, GzipAndXzKernelsAreLoadedBySegmentAndEnteredAtTheElfEntry) {
    SyntheticElf elf = twoSegmentKernel();
    elf.entry = 0x1000040;  // not the load address: EIP must come from e_entry
    const auto vmlinux = elf.build();
    for (const auto& packed : {gzipOf(vmlinux), xzOf(vmlinux)}) {
        const SyntheticBzImage k = imageWith(packed);
        hw::GuestMemory mem(64 * kMiB);
        // Dirty the .bss tail: the loader must zero it.
        const auto dirty = std::vector<std::uint8_t>(0x9000, 0xCC);
        mem.write(0x1010000, dirty);
        const auto rd = std::vector<std::uint8_t>(100000, 0x77);
        const LinuxBootLayout l = loadLinux(mem, {k.bytes, rd, "console=ttyS0"});

        ASSERT_TRUE(l.kernelLoad.unpacked) << l.kernelLoad.notUnpacked;
        EXPECT_EQ(l.kernelLoad.format, detectPayloadFormat(packed));
        EXPECT_EQ(l.kernelLoad.unpackedBytes, vmlinux.size());
        EXPECT_EQ(l.entry, 0x1000040u);
        EXPECT_EQ(l.regs.rip, 0x1000040u);
        EXPECT_EQ(l.regs.rsi, LinuxBootLayout::kBootParamsAddr);
        EXPECT_EQ(l.regs.rbx, 0u);
        EXPECT_EQ(l.sregs.cs.selector, LinuxBootLayout::kBootCs);
        EXPECT_EQ(l.kernelAddr, 0x1000000u);
        EXPECT_EQ(l.kernelEnd, 0x1000000u + 4 * kMiB);  // pref_address + init_size
        EXPECT_GE(l.initrdAddr, l.kernelEnd);

        for (const auto& s : elf.segments) {
            if (s.type != 1) continue;
            EXPECT_EQ(guestBytes(mem, s.paddr, s.bytes.size()), s.bytes) << std::hex << s.paddr;
        }
        const auto bss = guestBytes(mem, 0x1010000 + 12000, 0x9000 - 12000);
        EXPECT_TRUE(std::all_of(bss.begin(), bss.end(), [](auto b) { return b == 0; }));
        // The bzImage's own code is not in memory: the ELF header is not at the load address.
        EXPECT_NE(guestBytes(mem, 0x1000000, 4), std::vector<std::uint8_t>(vmlinux.begin(), vmlinux.begin() + 4));

        const std::string d = l.kernelLoad.describe();
        EXPECT_EQ(d.rfind("unpacked " + std::string(payloadFormatName(l.kernelLoad.format)) +
                              " payload on the host (0.0 MiB, ",
                          0),
                  0u)
            << d;
    }
}

TEST(KernelUnpack, OptOutLoadsTheBzImageAsIs) {
    const SyntheticBzImage k = imageWith(gzipOf(twoSegmentKernel().build()));
    hw::GuestMemory mem(64 * kMiB);
    LinuxBootOptions o;
    o.unpackKernel = false;
    const LinuxBootLayout l = loadLinux(mem, {k.bytes, {}, ""}, o);
    EXPECT_FALSE(l.kernelLoad.unpacked);
    EXPECT_EQ(l.kernelLoad.describe(), "host unpacking is off: the kernel decompresses itself");
    EXPECT_EQ(l.entry, l.kernelAddr);
    EXPECT_EQ(l.regs.rip, 0x1000000u);
    const std::vector<std::uint8_t> pm(k.bytes.begin() + SyntheticBzImage::kSetup, k.bytes.end());
    EXPECT_EQ(guestBytes(mem, 0x1000000, pm.size()), pm);
}

TEST(KernelUnpack, WhatCxvmDoesNotUnpackFallsBackToTheInGuestDecompressor) {
    struct Case {
        std::string name;
        SyntheticBzImage image;
        std::string reason;
    };
    std::vector<Case> cases;
    cases.push_back({"lz4", imageWith(std::vector<std::uint8_t>{0x02, 0x21, 0x4C, 0x18, 1, 2}),
                     "payload is lz4"});
    cases.push_back({"zstd", imageWith(std::vector<std::uint8_t>{0x28, 0xB5, 0x2F, 0xFD, 0}),
                     "payload is zstd"});
    cases.push_back({"junk", imageWith(std::vector<std::uint8_t>{0xDE, 0xAD, 0xBE, 0xEF, 0}),
                     "payload format not recognised (starts de ad be ef)"});
    cases.push_back({"no payload", SyntheticBzImage(), "the image has no payload (payload_length 0)"});
    SyntheticBzImage old(64 * 1024, 0x0209);
    old.setPayload(gzipOf(twoSegmentKernel().build()));
    cases.push_back({"2.09", old, "boot protocol 2.09 has no pref_address/init_size (2.10+)"});
    SyntheticBzImage k64 = imageWith(gzipOf(twoSegmentKernel().build()));
    k64.put16(0x236, 0x0001);  // XLF_KERNEL_64
    cases.push_back({"64-bit", k64, "a 64-bit kernel (host unpacking covers 32-bit kernels)"});
    SyntheticBzImage elf64 = imageWith(gzipOf([] {
        auto f = twoSegmentKernel().build();
        f[4] = 2;  // ELFCLASS64
        return f;
    }()));
    cases.push_back({"ELF64", elf64, "payload is a 64-bit vmlinux (gzip)"});

    for (const auto& c : cases) {
        hw::GuestMemory mem(64 * kMiB);
        LinuxBootOptions o;
        o.cpuHasLongMode = true;
        const LinuxBootLayout l = loadLinux(mem, {c.image.bytes, {}, ""}, o);
        EXPECT_FALSE(l.kernelLoad.unpacked) << c.name;
        EXPECT_EQ(l.kernelLoad.notUnpacked, c.reason) << c.name;
        EXPECT_EQ(l.kernelLoad.describe(), c.reason + ": the kernel decompresses itself");
        EXPECT_EQ(l.regs.rip, l.kernelAddr) << c.name;
        std::uint8_t first = 0;
        mem.read(l.kernelAddr, std::span(&first, 1));
        EXPECT_EQ(first, c.image.bytes[SyntheticBzImage::kSetup]) << c.name;
    }
}

TEST(KernelUnpack, CorruptPayloadsAreErrorsNotFallBacks) {
    hw::GuestMemory mem(64 * kMiB);
    const auto vmlinux = twoSegmentKernel().build();
    auto xz = xzOf(vmlinux);
    xz.resize(xz.size() / 2);
    const std::string cut = errorOf(mem, imageWith(xz));
    EXPECT_EQ(cut.rfind("kernel payload (xz, ", 0), 0u) << cut;
    EXPECT_NE(cut.find("truncated"), std::string::npos) << cut;
    EXPECT_NE(cut.find("bzImage offset 0xa94"), std::string::npos) << cut;  // 5*512 + 0x94

    // A segment beyond pref_address + init_size.
    SyntheticElf far = twoSegmentKernel();
    far.segments[1].paddr = 0x1000000 + 4 * kMiB - 0x1000;
    const std::string e = errorOf(mem, imageWith(gzipOf(far.build())));
    EXPECT_NE(e.find("kernel payload (gzip, unpacked to 52148 bytes): vmlinux: PT_LOAD program "
                     "header 1"),
              std::string::npos)
        << e;
    EXPECT_NE(e.find("lies outside the kernel's memory [0x1000000, 0x1400000)"), std::string::npos)
        << e;

    // More output than init_size declares.
    SyntheticBzImage tight = imageWith(gzipOf(vmlinux));
    tight.put32(0x260, 50000);
    const std::string big = errorOf(mem, tight);
    EXPECT_NE(big.find("decompresses to more than 50000 bytes"), std::string::npos) << big;

    // The same images load as they are with unpacking off (the guest would then fail).
    LinuxBootOptions off;
    off.unpackKernel = false;
    EXPECT_EQ(errorOf(mem, imageWith(xz), off), "");
}

TEST(KernelUnpack, KaslrFlagIsNeverPassedOn) {
    SyntheticBzImage k = imageWith(gzipOf(twoSegmentKernel().build()));
    k.bytes[0x211] |= 0x02;  // KASLR_FLAG: the decompressor's report, cleared by it first
    hw::GuestMemory mem(64 * kMiB);
    loadLinux(mem, {k.bytes, {}, ""});
    std::uint8_t flags = 0;
    mem.read(LinuxBootLayout::kBootParamsAddr + LinuxBootParams::kLoadFlags, std::span(&flags, 1));
    EXPECT_EQ(flags, 0x01);  // LOADED_HIGH only
}

std::uint32_t le32At(std::span<const std::uint8_t> b, std::size_t at) {
    return b[at] | b[at + 1] << 8 | b[at + 2] << 16 | static_cast<std::uint32_t>(b[at + 3]) << 24;
}

// The guest kit's kernel (Debian 686, xz): unpacked, it is an i386 vmlinux of the length
// the kernel build appended to the payload, starting at pref_address with its entry
// (phys_startup_32) there; loadLinux puts it into guest memory.
TEST(KernelUnpack, KitKernel) {
    const auto path = testing::kitKernelPath();
    if (!std::filesystem::exists(path)) GTEST_SKIP() << "no guest kit kernel at " << path;
    const auto image = readFile(path);
    const BzImage bz = BzImage::parse(image);
    const KernelUnpack u = unpackKernel(bz);
    ASSERT_TRUE(u.kernel) << u.notUnpacked;
    const UnpackedKernel& k = *u.kernel;
    EXPECT_EQ(k.format, PayloadFormat::Xz);
    EXPECT_EQ(k.vmlinux.size(), le32At(bz.payload, bz.payload.size() - 4));  // size_append
    EXPECT_LE(k.vmlinux.size(), bz.initSize);
    EXPECT_EQ(k.elf.start(), bz.prefAddress);
    EXPECT_EQ(k.elf.entry, bz.prefAddress);
    EXPECT_LE(k.elf.end(), bz.prefAddress + bz.initSize);
    EXPECT_GE(k.elf.segments.size(), 2u);  // text+rodata, data+init+bss

    hw::GuestMemory mem(128 * kMiB);
    const LinuxBootLayout l = loadLinux(mem, {image, {}, "console=ttyS0"});
    ASSERT_TRUE(l.kernelLoad.unpacked);
    EXPECT_EQ(l.regs.rip, k.elf.entry);
    for (const auto& s : k.elf.segments) {
        const auto want = k.bytesOf(s);
        EXPECT_EQ(guestBytes(mem, s.paddr, want.size()), std::vector(want.begin(), want.end()));
    }

    // The real stream cut short or corrupted: errors naming the kit's payload.
    const std::size_t payloadAt = bz.setupSize() + bz.payloadOffset;
    for (std::size_t cut : {std::size_t{100}, bz.payload.size() / 3}) {
        auto bad = image;
        std::fill(bad.begin() + static_cast<std::ptrdiff_t>(payloadAt + cut),
                  bad.begin() + static_cast<std::ptrdiff_t>(payloadAt + bz.payload.size()), 0);
        hw::GuestMemory m2(128 * kMiB);
        try {
            loadLinux(m2, {bad, {}, ""});
            ADD_FAILURE() << "a payload zeroed from " << cut << " loaded";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("kernel payload (xz, "), std::string::npos) << e.what();
        }
    }
}

}  // namespace
}  // namespace cxvm::boot
