// The generator on its own: deterministic, every snippet decodes completely, and run on
// the host it stays inside the window (no page faults) and only raises the exceptions a
// case may legitimately raise.
#include "Generator.h"
#include "NativeRunner.h"

#include <gtest/gtest.h>

#include <capstone/capstone.h>

#include <cstdlib>
#include <map>

using namespace cxvm::x86::diff;

namespace {
NativeRunner& runner() { return NativeRunner::shared(); }
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
        cs_insn* insn = nullptr;
        const std::size_t n = cs_disasm(h, c.code.data(), c.code.size(), l.snippet(), 0, &insn);
        std::size_t covered = 0;
        for (std::size_t i = 0; i < n; ++i) {
            covered += insn[i].size;
            ++mnemonics[insn[i].mnemonic];
        }
        cs_free(insn, n);
        ASSERT_EQ(covered, c.code.size()) << "case " << id << "\n" << disassemble(c.code, l.snippet());
    }
    cs_close(&h);
    // breadth: the instruction groups the bench promises
    for (const char* m : {"add", "adc", "sbb", "shl", "rcr", "shld", "mul", "idiv", "daa", "aam", "bts",
                          "bsf", "cmpxchg", "xadd", "bswap", "movzx", "movsx", "lea", "enter", "leave",
                          "push", "pop", "pushal", "popfd", "fld", "fstp", "fcomi", "fnstsw"})
        EXPECT_GT(mnemonics[m], 0u) << m;
    EXPECT_GT(mnemonics.size(), 150u);
}

TEST(DiffGenerator, NativeRunsStayInTheWindowAndAreDeterministic) {
    const Layout l = Layout::forThisHost();
    Generator g(l);
    std::map<int, unsigned> vectors;
    for (std::uint64_t id = 0; id < scaled(4000); ++id) {
        const DiffCase c = g.make(id);
        const DiffOutcome a = runner().run(c);
        if (a.faulted) {
            ++vectors[a.vector];
            // #DE (div/aam), #OF, #BR (bound), #GP (write through CS), #MF (unmasked x87)
            ASSERT_TRUE(a.vector == 0 || a.vector == 5 || a.vector == 13 || a.vector == 16)
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
