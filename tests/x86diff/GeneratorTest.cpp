// The generator on its own: deterministic, every snippet decodes completely, and run on
// the host it stays inside the window (no page faults) and only raises the exceptions a
// case may legitimately raise.
#include "EmulatorTarget.h"
#include "Generator.h"
#include "NativeRunner.h"

#include <gtest/gtest.h>

#include <capstone/capstone.h>

#include <cstdlib>
#include <map>
#include <string_view>

using namespace cxvm::x86::diff;

namespace {
NativeRunner& runner() { return NativeRunner::shared(); }
// How many leading bytes of code capstone decodes at addr; counts each mnemonic.
std::size_t decodedBytes(csh h, const std::vector<std::uint8_t>& code, std::uint64_t addr,
                         std::map<std::string, unsigned>& mnemonics) {
    cs_insn* insn = nullptr;
    const std::size_t n = cs_disasm(h, code.data(), code.size(), addr, 0, &insn);
    std::size_t covered = 0;
    for (std::size_t i = 0; i < n; ++i) {
        covered += insn[i].size;
        ++mnemonics[insn[i].mnemonic];
    }
    cs_free(insn, n);
    return covered;
}
unsigned scaled(unsigned n) {
    const char* full = std::getenv("CXVM_TEST_FULL");
    return full && *full && *full != '0' ? n * 50 : n;
}
}  // namespace

TEST(DiffGenerator, IsDeterministic) {
    Generator g(Layout::forThisHost());
    for (std::uint64_t id = 0; id < 200; ++id) {
        const DiffCase a = g.make(id), b = g.make(id);
        ASSERT_EQ(a.code, b.code);
        ASSERT_EQ(a.regs, b.regs);
        ASSERT_EQ(a.memory, b.memory);
        ASSERT_EQ(a.undefinedFlags, b.undefinedFlags);
    }
    EXPECT_NE(g.make(1).code, g.make(2).code);
}

TEST(DiffGenerator, SnippetsDecodeCompletely) {
    const Layout l = Layout::forThisHost();
    Generator g(l);
    csh h;
    ASSERT_EQ(cs_open(CS_ARCH_X86, CS_MODE_32, &h), CS_ERR_OK);
    std::map<std::string, unsigned> mnemonics;
    for (std::uint64_t id = 0; id < scaled(3000); ++id) {
        const DiffCase c = g.make(id);
        const std::size_t covered = decodedBytes(h, c.code, l.snippet(), mnemonics);
        // capstone stops at a LOCK on a form that does not allow it: that is the
        // generator's deliberate #UD case
        if (covered < c.code.size() && c.code[covered] == 0xF0) continue;
        ASSERT_EQ(covered, c.code.size()) << "case " << id << "\n" << disassemble(c.code, l.snippet());
    }
    cs_close(&h);
    // breadth: the instruction groups the bench promises
    for (const char* m : {"add", "adc", "sbb", "shl", "rcr", "shld", "mul", "idiv", "daa", "aam", "bts",
                          "bsf", "cmpxchg", "xadd", "bswap", "movzx", "movsx", "lea", "enter", "leave",
                          "push", "pop", "pushal", "popfd", "fld", "fstp", "fcomi", "fnstsw", "fnstenv", "fnsave"})
        EXPECT_GT(mnemonics[m], 0u) << m;
    EXPECT_GT(mnemonics.size(), 150u);
}

TEST(DiffGenerator, NativeRunsStayInTheWindowAndAreDeterministic) {
    if (!runner().usable()) GTEST_SKIP() << runner().why();
    const Layout l = Layout::forThisHost();
    Generator g(l, GeneratorOptions::fromEnvironment());
    std::map<int, unsigned> vectors;
    for (std::uint64_t id = 0; id < scaled(4000); ++id) {
        const DiffCase c = g.make(id);
        const DiffOutcome a = runner().run(c);
        if (a.faulted) {
            ++vectors[a.vector];
            // #DE (div/aam), #OF (into), #BR (bound), #UD (misplaced lock), #GP (write
            // through CS), #MF (unmasked x87)
            const bool lockUd = a.vector == 6 && c.code[a.eip - l.snippet()] == 0xF0;
            ASSERT_TRUE(a.vector == 0 || a.vector == 4 || a.vector == 5 || lockUd || a.vector == 13 ||
                        a.vector == 16)
                << "case " << id << " vector " << +a.vector << " at " << std::hex << a.eip << "\n"
                << disassemble(c.code, l.snippet());
        }
        if (id % 16 == 0) {
            const DiffOutcome b = runner().run(c);
            ASSERT_TRUE(compareOutcomes(c, a, b, l).empty()) << "case " << id;
        }
    }
    EXPECT_GT(vectors[0], 0u);  // divide errors are exercised
}

// With QEMU's TCG as the oracle (the nested L1) the generator leaves out the forms TCG
// was adjudicated wrong on (docs/x86-diff.md): checked on the emulator, which real CPUs
// agree with, so this runs on any host. No case may raise #GP (a write through CS) or
// #UD (a misplaced LOCK) or #MF (FLDCW unmasks nothing), and there is no CMPXCHG8B and
// no 32-bit FNSTENV/FNSAVE layout; everything else comes out as for a CPU oracle.
TEST(DiffGenerator, QemuTcgOracleLeavesOutItsDeviations) {
    const Layout l = Layout::forThisHost();
    auto emulator = makeEmulatorTarget(l);
    if (!emulator) GTEST_SKIP() << "no CPU core in this build (src/x86/Cpu.h)";
    GeneratorOptions o;
    o.oracle = Oracle::QemuTcg;
    Generator tcg(l, o), cpu(l);
    csh h;
    ASSERT_EQ(cs_open(CS_ARCH_X86, CS_MODE_32, &h), CS_ERR_OK);
    std::map<std::string, unsigned> mnemonics;
    unsigned same = 0;
    for (std::uint64_t id = 1'000'000; id < 1'000'000 + scaled(4000); ++id) {
        const DiffCase c = tcg.make(id);
        const DiffOutcome out = emulator->run(c);
        ASSERT_FALSE(out.faulted && (out.vector == 6 || out.vector == 13 || out.vector == 16))
            << "case " << id << " vector " << +out.vector << "\n" << disassemble(c.code, l.snippet());
        cs_insn* insn = nullptr;
        const std::size_t n = cs_disasm(h, c.code.data(), c.code.size(), l.snippet(), 0, &insn);
        for (std::size_t i = 0; i < n; ++i) {
            const std::string m = insn[i].mnemonic;
            ++mnemonics[m];
            ASSERT_NE(m, "cmpxchg8b") << "case " << id;
            if (m == "fnstenv" || m == "fnsave") {  // the 16-bit layout: an operand-size prefix
                const std::string_view bytes(reinterpret_cast<const char*>(insn[i].bytes), insn[i].size);
                ASSERT_NE(bytes.find('\x66'), std::string_view::npos) << "case " << id;
            }
        }
        cs_free(insn, n);
        same += cpu.make(id).code == c.code;
    }
    cs_close(&h);
    for (const char* m : {"fnstenv", "fnsave", "fldcw", "fcomi", "bts", "add"}) EXPECT_GT(mnemonics[m], 0u) << m;
    // The exclusions are narrow: most cases come out as they do for a CPU oracle.
    EXPECT_GT(same, scaled(4000) * 3 / 4);
}

// SIMD cases: deterministic, capstone decodes every byte, the breadth of MMX/SSE/SSE2
// forms is there, and the emulator (which needs no oracle) runs them with no #UD (every
// generated encoding is implemented) and identically interpreted and compiled.
TEST(DiffGenerator, SimdCasesDecodeAndRunInTheEmulator) {
    const Layout l = Layout::forThisHost();
    Generator g(l, GeneratorOptions::fromEnvironment());
    auto interp = makeEmulatorTarget(l);
    auto compiled = makeEmulatorTarget(l, true);
    if (!interp) GTEST_SKIP() << "no CPU core in this build";
    csh h;
    ASSERT_EQ(cs_open(CS_ARCH_X86, CS_MODE_32, &h), CS_ERR_OK);
    std::map<std::string, unsigned> mnemonics;
    std::map<int, unsigned> vectors;
    for (std::uint64_t id = 0; id < scaled(3000); ++id) {
        const DiffCase a = g.makeSimd(id), c = g.makeSimd(id);
        ASSERT_EQ(a.code, c.code);
        ASSERT_EQ(a.xmm, c.xmm);
        ASSERT_EQ(a.mxcsr, c.mxcsr);
        const std::size_t covered = decodedBytes(h, c.code, l.snippet(), mnemonics);
        if (covered < c.code.size() && c.code[covered] == 0xF0) continue;
        ASSERT_EQ(covered, c.code.size()) << "case " << id << "\n" << disassemble(c.code, l.snippet());
        const DiffOutcome i = interp->run(c), k = compiled->run(c);
        if (i.faulted) ++vectors[i.vector];
        ASSERT_FALSE(i.faulted && i.vector == 6) << "case " << id << " #UD at " << std::hex << i.eip << "\n"
                                                 << disassemble(c.code, l.snippet());
        const auto diffs = compareOutcomes(c, i, k, l);
        ASSERT_TRUE(diffs.empty()) << "case " << id << ": interpreted vs compiled\n" << diffs.front();
    }
    cs_close(&h);
    for (const char* m : {"paddb", "packsswb", "punpckhbw", "psraw", "pslldq", "pshufw", "pshufd", "pextrw",
                          "pinsrw", "pmovmskb", "maskmovq", "maskmovdqu", "movd", "movq", "movdqa", "movdqu",
                          "movq2dq", "movntq", "movnti", "movaps", "movss", "movlps", "movhlps", "unpcklps",
                          "shufpd", "addps", "mulsd", "divss", "sqrtpd", "minps", "maxsd", "rcpps", "rsqrtss",
                          "cmpps", "comiss", "ucomisd", "cvtsi2ss", "cvttsd2si", "cvtpi2ps", "cvtps2pd",
                          "cvtdq2ps", "cvttpd2dq", "andnps", "movmskpd", "ldmxcsr", "stmxcsr", "fxsave",
                          "fxrstor", "emms", "lfence", "mfence", "sfence", "clflush", "prefetchnta",
                          "pmuludq", "paddq", "psadbw", "pavgw"})
        EXPECT_GT(mnemonics[m], 0u) << m;
    // Misaligned 16-byte operands (#GP; not generated for TCG, which does not check).
    if (GeneratorOptions::fromEnvironment().oracle == Oracle::Cpu) {
        EXPECT_GT(vectors[13], 0u);
    }
}
