// The native side on its own: known snippets give known results, runs are
// deterministic, faults are caught with the right vector.
#include "NativeRunner.h"

#include <gtest/gtest.h>

#include <cstring>

using namespace cxvm::x86::diff;

namespace {
DiffCase baseCase(const Layout& l, std::vector<std::uint8_t> code) {
    DiffCase c;
    c.code = std::move(code);
    c.regs = {1, 2, 3, 4, l.data + 0x3800, 6, 7, 8};
    c.eflags = 0x202;
    c.memory.assign(Layout::kDataBytes, 0);
    c.fpu.cw = 0x37F;
    c.fpu.tw = 0xFFFF;
    return c;
}

NativeRunner& runner() { return NativeRunner::shared(); }
}  // namespace

TEST(NativeRunner, RunsAKnownSnippet) {
    if (!runner().usable()) GTEST_SKIP() << runner().why();
    const Layout l = Layout::forThisHost();
    // add eax, ecx ; push eax ; stc
    DiffCase c = baseCase(l, {0x01, 0xC8, 0x50, 0xF9});
    const DiffOutcome o = runner().run(c);
    ASSERT_FALSE(o.faulted);
    EXPECT_EQ(o.regs[0], 3u);
    EXPECT_EQ(o.regs[4], l.data + 0x3800 - 4);
    EXPECT_EQ(o.eflags & 0x8D5, 0x5u);  // PF (3 has two bits) and CF
    std::uint32_t pushed;
    std::memcpy(&pushed, &o.memory[0x37FC], 4);
    EXPECT_EQ(pushed, 3u);
    EXPECT_EQ(o.fpu.cw & 0xFFFF, 0x37Fu);
}

TEST(NativeRunner, IsDeterministic) {
    if (!runner().usable()) GTEST_SKIP() << runner().why();
    const Layout l = Layout::forThisHost();
    // fld1 ; fldpi ; fdivp ; rdtsc-free arithmetic: imul eax, ecx, 12345
    DiffCase c = baseCase(l, {0xD9, 0xE8, 0xD9, 0xEB, 0xDE, 0xF9, 0x69, 0xC1, 0x39, 0x30, 0, 0});
    c.usesFpu = true;
    const DiffOutcome a = runner().run(c), b = runner().run(c);
    EXPECT_TRUE(compareOutcomes(c, a, b, l).empty());
    EXPECT_EQ(a.regs[0], 2u * 12345u);
}

TEST(NativeRunner, CatchesDivideErrorAndContinues) {
    if (!runner().usable()) GTEST_SKIP() << runner().why();
    const Layout l = Layout::forThisHost();
    DiffCase c = baseCase(l, {0x31, 0xC9, 0xF7, 0xF1});  // xor ecx, ecx ; div ecx
    const DiffOutcome o = runner().run(c);
    ASSERT_TRUE(o.faulted);
    EXPECT_EQ(o.vector, 0);
    EXPECT_EQ(o.eip, l.snippet() + 2);
    EXPECT_EQ(o.regs[1], 0u);
    DiffCase ok = baseCase(l, {0x90});
    EXPECT_FALSE(runner().run(ok).faulted);
}

TEST(NativeRunner, CatchesInvalidOpcode) {
    if (!runner().usable()) GTEST_SKIP() << runner().why();
    const Layout l = Layout::forThisHost();
    DiffCase c = baseCase(l, {0x0F, 0x0B});  // ud2
    const DiffOutcome o = runner().run(c);
    ASSERT_TRUE(o.faulted);
    EXPECT_EQ(o.vector, 6);
}

// The 16-bit stack segment is in the LDT (modify_ldt): POP SS loads it, PUSH SS stores
// its selector, and the snippet gets back to the flat 0x2B. Skipped with the reason where
// the kernel refuses the segment (in the nested L1 a skip fails the oracle run).
TEST(NativeRunner, RunsOnA16BitStack) {
    if (!runner().usable()) GTEST_SKIP() << runner().why();
    if (!runner().stack16Usable()) GTEST_SKIP() << runner().stack16Why();
    const Layout l = Layout::forThisHost();
    // push 7 ; pop ss ; o16 push ss ; o16 pop ax ; push 0x2b ; pop ss ; o16 push ss ; o16 pop cx
    DiffCase c = baseCase(l, {0x6A, 0x07, 0x17, 0x66, 0x16, 0x66, 0x58, 0x6A, 0x2B, 0x17, 0x66, 0x16, 0x66, 0x59});
    c.regs[0] = 0x12345678;
    c.regs[1] = 0x9ABCDEF0;
    const DiffOutcome o = runner().run(c);
    ASSERT_FALSE(o.faulted) << "trap " << +o.vector << " at " << std::hex << o.eip;
    EXPECT_EQ(o.regs[0], 0x12340007u);
    EXPECT_EQ(o.regs[1], 0x9ABC002Bu);
    EXPECT_EQ(o.regs[4], l.data + 0x3800);
    // A selector with RPL 0 is refused (#GP) and the case goes on afterwards.
    DiffCase bad = baseCase(l, {0x6A, 0x04, 0x17});
    const DiffOutcome b = runner().run(bad);
    ASSERT_TRUE(b.faulted);
    EXPECT_EQ(b.vector, 13);
    EXPECT_EQ(b.eip, l.snippet() + 2);
    EXPECT_FALSE(runner().run(c).faulted);
}
