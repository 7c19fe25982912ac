// The ELF32 vmlinux parser: segments and entry of a good file, and a clear error naming
// the field and offset (or segment and addresses) for every kind of bad one.
#include "boot/VmlinuxElf.h"
#include "SyntheticImages.h"
#include "util/Error.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace cxvm::boot {
namespace {

using testing::putLe;
using testing::SyntheticElf;
using testing::twoSegmentKernel;

constexpr std::uint64_t kWindowStart = 0x1000000, kWindowEnd = 0x1400000;

std::string errorOf(const std::vector<std::uint8_t>& elf) {
    try {
        VmlinuxElf::parse(elf, kWindowStart, kWindowEnd);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

#define EXPECT_ERROR_HAS(elf, text)                                   \
    do {                                                              \
        const std::string e_ = errorOf(elf);                          \
        EXPECT_NE(e_.find(text), std::string::npos) << "error: " << e_; \
    } while (0)

TEST(VmlinuxElf, LoadSegmentsSortedWithTheirFileBytes) {
    SyntheticElf e = twoSegmentKernel();
    std::swap(e.segments[0], e.segments[1]);  // header order does not matter
    const auto file = e.build();
    const VmlinuxElf v = VmlinuxElf::parse(file, kWindowStart, kWindowEnd);
    EXPECT_EQ(v.entry, 0x1000000u);
    ASSERT_EQ(v.segments.size(), 2u);  // the PT_NOTE is not loaded
    EXPECT_EQ(v.segments[0].paddr, 0x1000000u);
    EXPECT_EQ(v.segments[0].fileSize, 40000u);
    EXPECT_EQ(v.segments[0].memSize, 40000u);
    EXPECT_EQ(v.segments[0].flags, 5u);
    EXPECT_EQ(v.segments[1].paddr, 0x1010000u);
    EXPECT_EQ(v.segments[1].fileSize, 12000u);
    EXPECT_EQ(v.segments[1].memSize, 0x9000u);
    EXPECT_EQ(v.start(), 0x1000000u);
    EXPECT_EQ(v.end(), 0x1019000u);
    // File offsets point at the segment's bytes.
    const SyntheticElf original = twoSegmentKernel();
    for (std::size_t i = 0; i < 2; ++i) {
        const auto& want = original.segments[i].bytes;
        const auto& s = v.segments[i];
        EXPECT_TRUE(std::equal(want.begin(), want.end(), file.begin() + s.fileOffset));
    }
    EXPECT_FALSE(VmlinuxElf::isElf64(file));
}

TEST(VmlinuxElf, BadHeadersNameTheFieldAndOffset) {
    const auto good = twoSegmentKernel().build();
    auto with = [&](std::size_t at, std::uint64_t v, unsigned n) {
        auto f = good;
        putLe(f, at, v, n);
        return f;
    };
    EXPECT_ERROR_HAS(std::vector<std::uint8_t>(good.begin(), good.begin() + 51),
                     "vmlinux: 51 bytes is too small for an ELF header");
    EXPECT_ERROR_HAS(with(0, 0x464C457E, 4), "no ELF magic at offset 0 (found 7e 45 4c 46)");
    EXPECT_ERROR_HAS(with(4, 2, 1), "EI_CLASS at offset 0x4 is 2, expected 1 (ELFCLASS32");
    EXPECT_TRUE(VmlinuxElf::isElf64(with(4, 2, 1)));
    EXPECT_ERROR_HAS(with(5, 2, 1), "EI_DATA at offset 0x5 is 2, expected 1");
    EXPECT_ERROR_HAS(with(6, 0, 1), "EI_VERSION at offset 0x6 is 0");
    EXPECT_ERROR_HAS(with(16, 3, 2), "e_type at offset 0x10 is 3, expected 2 (ET_EXEC)");
    EXPECT_ERROR_HAS(with(18, 62, 2), "e_machine at offset 0x12 is 62, expected 3 (EM_386)");
    EXPECT_ERROR_HAS(with(20, 2, 4), "e_version at offset 0x14 is 2");
    EXPECT_ERROR_HAS(with(42, 56, 2), "e_phentsize at offset 0x2a is 56, expected 32");
    EXPECT_ERROR_HAS(with(44, 0, 2), "e_phnum at offset 0x2c is 0, expected 1..64");
    EXPECT_ERROR_HAS(with(44, 65, 2), "e_phnum at offset 0x2c is 65");
    EXPECT_ERROR_HAS(with(28, good.size() - 40, 4),
                     "program header table at offset 0xcb8c (3 entries of 32 bytes) runs past the "
                     "end of the 52148-byte file");
    EXPECT_ERROR_HAS(with(28, 0xFFFFFFF0, 4), "program header table at offset 0xfffffff0");
}

TEST(VmlinuxElf, BadSegmentsNameTheSegmentAndAddresses) {
    const auto good = twoSegmentKernel().build();
    const std::size_t ph1 = SyntheticElf::phdr(1);
    auto with = [&](std::size_t at, std::uint64_t v) {
        auto f = good;
        putLe(f, at, v, 4);
        return f;
    };
    // p_offset + p_filesz past the end of the file (also with 32-bit wrap-around).
    EXPECT_ERROR_HAS(with(ph1 + 4, good.size() - 100),
                     "PT_LOAD program header 1 (offset 0x54): file bytes [0xcb50, 0xfa30) run "
                     "past the end of the 52148-byte file");
    EXPECT_ERROR_HAS(with(ph1 + 4, 0xFFFFFF00), "file bytes [0xffffff00, 0x100002de0) run past");
    EXPECT_ERROR_HAS(with(ph1 + 16, 0xA000),
                     "PT_LOAD program header 1 (offset 0x54): p_filesz 0xa000 is larger than "
                     "p_memsz 0x9000");
    // Outside the kernel's memory window: below, above, wrapping.
    EXPECT_ERROR_HAS(with(ph1 + 12, 0xFFF000),
                     "physical range [0xfff000, 0x1008000) lies outside the kernel's memory "
                     "[0x1000000, 0x1400000)");
    EXPECT_ERROR_HAS(with(ph1 + 12, 0x13F8000), "physical range [0x13f8000, 0x1401000) lies outside");
    EXPECT_ERROR_HAS(with(ph1 + 12, 0xFFFFF000), "physical range [0xfffff000, 0x100008000)");
    // Overlapping segments.
    EXPECT_ERROR_HAS(with(ph1 + 12, 0x1009000),
                     "PT_LOAD segments [0x1000000, 0x1009c40) and [0x1009000, 0x1012000) overlap");
    // No loadable segment at all.
    auto none = good;
    for (std::size_t i = 0; i < 3; ++i) putLe(none, SyntheticElf::phdr(i), 6, 4);
    EXPECT_ERROR_HAS(none, "none of its 3 program headers is a non-empty PT_LOAD");
    // Entry points outside the loaded file bytes (also inside a .bss tail).
    EXPECT_ERROR_HAS(with(24, 0x100000), "entry point e_entry 0x100000 (offset 0x18) is not inside");
    EXPECT_ERROR_HAS(with(24, 0x1010000 + 12000), "e_entry 0x1012ee0");
    EXPECT_EQ(errorOf(with(24, 0x1010000 + 11999)), "");
}

TEST(VmlinuxElf, RandomCorruptionIsAnErrorOrAValidImage) {
    const auto good = twoSegmentKernel().build();
    std::mt19937 rng(42);
    for (int round = 0; round < 3000; ++round) {
        auto f = good;
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int i = 0; i < flips; ++i)  // mostly the headers: that is where the checks are
            f[rng() % (round % 2 ? f.size() : 160)] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
        if (rng() % 8 == 0) f.resize(rng() % f.size());
        try {
            const VmlinuxElf v = VmlinuxElf::parse(f, kWindowStart, kWindowEnd);
            for (const auto& s : v.segments) {
                EXPECT_LE(s.fileOffset + s.fileSize, f.size());
                EXPECT_GE(s.paddr, kWindowStart);
                EXPECT_LE(s.end(), kWindowEnd);
            }
        } catch (const Error& e) {
            EXPECT_EQ(std::string(e.what()).rfind("vmlinux: ", 0), 0u) << e.what();
        }
    }
}

}  // namespace
}  // namespace cxvm::boot
